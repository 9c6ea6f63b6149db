// Prints the text Apache Avro's Java library makes of a schema: the text
// Confluent's Java serializers send to a schema registry (to register a
// schema or to look it up) and Confluent Schema Registry stores, that of
// Schema.toString, as Confluent's AvroSchema.canonicalString writes it:
// with the schemas it references parsed first, and written as references.
//
// Reads one JSON object per line on stdin: schema (the schema's text) and
// references (the texts of the schemas it references, each after those it
// references in turn; may be absent). Prints one JSON object per line:
// {"schema": "..."}. Exits 1 on the first schema that does not parse.
//
// usage: java -cp 'LIBS/*' AvroSchemaText.java < schemas.jsonl
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;

public class AvroSchemaText {
  public static void main(String[] args) throws Exception {
    ObjectMapper json = new ObjectMapper();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line; (line = in.readLine()) != null; ) {
      if (line.isBlank()) continue;
      JsonNode req = json.readTree(line);
      Schema.Parser parser = new Schema.Parser();
      List<Schema> refs = new ArrayList<>();
      try {
        for (JsonNode r : req.path("references")) {
          refs.add(parser.parse(r.asText()));
        }
        Schema schema = parser.parse(req.get("schema").asText());
        System.out.println(json.writeValueAsString(Map.of("schema", schema.toString(refs, false))));
      } catch (RuntimeException e) {
        System.err.println("AvroSchemaText: " + e.getMessage());
        System.exit(1);
      }
    }
  }
}
