package avro

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidatePayloads runs every sample payload under
// testdata/validate/<record>/ through the record's validator. A file named
// valid-*.json must pass; its golden (.golden) holds "valid" and the Avro
// encoding of the validated payload, which must also decode back to the
// same native value. A file named invalid-*.json must fail; its golden
// lists the issues. Files with "reject" in their name are validated with
// the reject policy for unknown fields, the others with the default, drop.
func TestValidatePayloads(t *testing.T) {
	s := loadSchemas(t)
	api := newAPI()
	dirs, err := os.ReadDir("testdata/validate")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no sample payloads")
	}
	for _, dir := range dirs {
		record := dir.Name()
		files, err := filepath.Glob(filepath.Join("testdata/validate", record, "*.json"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no sample payloads (%v)", record, err)
		}
		for _, file := range files {
			name := strings.TrimSuffix(filepath.Base(file), ".json")
			t.Run(record+"/"+name, func(t *testing.T) {
				policy := DropUnknown
				if strings.Contains(name, "reject") {
					policy = RejectUnknown
				}
				v, err := s.Validator(record, Unknown(policy))
				if err != nil {
					t.Fatal(err)
				}
				body, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				native, err := v.Validate(body)
				var out bytes.Buffer
				switch {
				case strings.HasPrefix(name, "valid-"):
					if err != nil {
						t.Fatalf("a valid sample fails: %v", err)
					}
					schema := dataSchema(t, s, record)
					enc, err := api.Marshal(schema, native)
					if err != nil {
						t.Fatalf("encode the validated value: %v", err)
					}
					var back map[string]any
					if err := api.Unmarshal(schema, enc, &back); err != nil {
						t.Fatalf("decode: %v", err)
					}
					if !nativeEqual(native, back) {
						t.Errorf("the validated value does not survive an encode and decode:\nvalidated %#v\ndecoded   %#v", native, back)
					}
					out.WriteString("valid\n")
					out.WriteString(hexDump(enc))
				case strings.HasPrefix(name, "invalid-"):
					var ve *ValidationError
					if !errors.As(err, &ve) {
						t.Fatalf("an invalid sample gives %v, want a *ValidationError", err)
					}
					if !errors.Is(err, ErrInvalid) {
						t.Errorf("errors.Is(err, ErrInvalid) is false")
					}
					if native != nil {
						t.Errorf("an invalid sample returned a value")
					}
					for _, is := range ve.Issues {
						out.WriteString(string(is.Code) + "\t" + is.String() + "\n")
					}
					if ve.Truncated {
						out.WriteString("truncated\n")
					}
				default:
					t.Fatalf("sample %s must be named valid-* or invalid-*", file)
				}
				golden(t, strings.TrimSuffix(file, ".json")+".golden", out.Bytes())
			})
		}
	}
}
