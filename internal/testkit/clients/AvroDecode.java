// Decodes Avro values with Apache Avro's Java library, the reference
// implementation that Confluent's Java deserializers, Kafka Connect and
// ksqlDB decode with.
//
// Reads one JSON object per line on stdin: value (the hex of a value in the
// Confluent wire format). Takes the schema id from the value's header,
// fetches the writer's schema from the registry (GET /schemas/ids/{id}),
// parses it with org.apache.avro.Schema.Parser, reads the body with a
// GenericDatumReader (every byte must be used) and prints one JSON object
// per line: {"value": <the record as GenericData prints it>} (timestamps
// as epoch milliseconds). Exits 1 on the first value that does not decode.
//
// usage: java -cp 'LIBS/*' AvroDecode.java REGISTRY_URL < values.jsonl
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;

public class AvroDecode {
  public static void main(String[] args) throws Exception {
    String registry = args[0];
    ObjectMapper json = new ObjectMapper();
    HttpClient http = HttpClient.newHttpClient();
    Map<Integer, Schema> schemas = new HashMap<>();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line; (line = in.readLine()) != null; ) {
      if (line.isBlank()) continue;
      byte[] value = HexFormat.of().parseHex(json.readTree(line).get("value").asText());
      ByteBuffer header = ByteBuffer.wrap(value);
      if (value.length < 5 || header.get() != 0) {
        fail("not the Confluent wire format (magic byte 0, 4-byte schema id)");
      }
      int id = header.getInt();
      Schema schema = schemas.get(id);
      if (schema == null) {
        HttpResponse<String> resp = http.send(
            HttpRequest.newBuilder(URI.create(registry + "/schemas/ids/" + id)).build(),
            HttpResponse.BodyHandlers.ofString());
        if (resp.statusCode() != 200) {
          fail("schema " + id + ": registry answered " + resp.statusCode() + ": " + resp.body());
        }
        schema = new Schema.Parser().parse(json.readTree(resp.body()).get("schema").asText());
        schemas.put(id, schema);
      }
      BinaryDecoder body = DecoderFactory.get().binaryDecoder(value, 5, value.length - 5, null);
      GenericRecord record = new GenericDatumReader<GenericRecord>(schema).read(null, body);
      if (!body.isEnd()) {
        fail("schema " + id + ": bytes left after the record");
      }
      System.out.println("{\"value\": " + record + "}");
    }
  }

  private static void fail(String why) {
    System.err.println("decode: " + why);
    System.exit(1);
  }
}
