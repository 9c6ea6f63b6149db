// Decodes Avro values with Apache Avro's Java library, the reference
// implementation that Confluent's Java deserializers, Kafka Connect and
// ksqlDB decode with.
//
// Reads one JSON object per line on stdin: value (the hex of a value in the
// Confluent wire format). Takes the schema id from the value's header,
// fetches the writer's schema from the registry (GET /schemas/ids/{id}),
// parses it with org.apache.avro.Schema.Parser, reads the body with a
// GenericDatumReader (every byte must be used) and prints one JSON object
// per line: {"value": ...}, the record written out by its schema: a union
// as its branch, decimals as their exact decimal string, timestamps and
// dates as ISO 8601 strings, bytes as hex. Exits 1 on the first value that
// does not decode.
//
// usage: java -cp 'LIBS/*' AvroDecode.java REGISTRY_URL < values.jsonl
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.temporal.ChronoUnit;
import java.util.Collection;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import org.apache.avro.LogicalType;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericFixed;
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
      StringBuilder out = new StringBuilder("{\"value\": ");
      write(out, schema, record);
      System.out.println(out.append('}'));
    }
  }

  // write appends datum, of schema, as JSON.
  private static void write(StringBuilder b, Schema schema, Object datum) {
    LogicalType logical = schema.getLogicalType();
    switch (schema.getType()) {
      case UNION -> write(b, schema.getTypes().get(GenericData.get().resolveUnion(schema, datum)), datum);
      case RECORD -> {
        GenericRecord record = (GenericRecord) datum;
        b.append('{');
        for (Schema.Field f : schema.getFields()) {
          if (f.pos() > 0) b.append(',');
          quote(b, f.name());
          b.append(':');
          write(b, f.schema(), record.get(f.pos()));
        }
        b.append('}');
      }
      case MAP -> {
        b.append('{');
        boolean first = true;
        for (Map.Entry<?, ?> e : ((Map<?, ?>) datum).entrySet()) {
          if (!first) b.append(',');
          first = false;
          quote(b, e.getKey().toString());
          b.append(':');
          write(b, schema.getValueType(), e.getValue());
        }
        b.append('}');
      }
      case ARRAY -> {
        b.append('[');
        boolean first = true;
        for (Object item : (Collection<?>) datum) {
          if (!first) b.append(',');
          first = false;
          write(b, schema.getElementType(), item);
        }
        b.append(']');
      }
      case BYTES, FIXED -> {
        byte[] bytes;
        if (datum instanceof ByteBuffer buf) {
          bytes = new byte[buf.remaining()];
          buf.duplicate().get(bytes);
        } else {
          bytes = ((GenericFixed) datum).bytes();
        }
        if (logical instanceof LogicalTypes.Decimal d) {
          quote(b, new BigDecimal(new BigInteger(bytes), d.getScale()).toPlainString());
        } else {
          quote(b, HexFormat.of().formatHex(bytes));
        }
      }
      case LONG -> {
        long v = (Long) datum;
        if (logical instanceof LogicalTypes.TimestampMillis) {
          quote(b, Instant.ofEpochMilli(v).toString());
        } else if (logical instanceof LogicalTypes.TimestampMicros) {
          quote(b, Instant.EPOCH.plus(v, ChronoUnit.MICROS).toString());
        } else {
          b.append(v);
        }
      }
      case INT -> {
        int v = (Integer) datum;
        if (logical instanceof LogicalTypes.Date) {
          quote(b, LocalDate.ofEpochDay(v).toString());
        } else {
          b.append(v);
        }
      }
      case STRING, ENUM -> quote(b, datum.toString());
      case BOOLEAN, FLOAT, DOUBLE -> b.append(datum);
      case NULL -> b.append("null");
    }
  }

  private static void quote(StringBuilder b, String s) {
    try {
      b.append(JSON.writeValueAsString(s));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  private static void fail(String why) {
    System.err.println("decode: " + why);
    System.exit(1);
  }
}
