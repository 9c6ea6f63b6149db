package registry

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hamba/avro/v2"
)

// wideRecord is a record of n fields of assorted types, with a nested
// record and a recursive list, as a realistic event contract.
func wideRecord(n int, extra string) string {
	var fields []string
	types := []string{`"int"`, `"long"`, `"string"`, `["null","string"]`, `{"type":"array","items":"double"}`, `{"type":"map","values":"bytes"}`}
	for i := range n {
		fields = append(fields, fmt.Sprintf(`{"name":"f%d","type":%s}`, i, types[i%len(types)]))
	}
	fields = append(fields, `{"name":"nested","type":{"type":"record","name":"Nested","fields":[{"name":"x","type":"int"},{"name":"kind","type":{"type":"enum","name":"Kind","symbols":["A","B","C"]}}]}}`)
	fields = append(fields, `{"name":"next","type":["null",{"type":"record","name":"Link","fields":[{"name":"v","type":"long"},{"name":"next","type":["null","Link"]}]}],"default":null}`)
	if extra != "" {
		fields = append(fields, extra)
	}
	return `{"type":"record","name":"Wide","namespace":"bench","fields":[` + strings.Join(fields, ",") + `]}`
}

// BenchmarkCompatibility compares sluice's reader/writer check with hamba's
// SchemaCompatibility, the baseline, on the same pair of schemas (a 60-field
// record and the same with a field added with a default). Each iteration
// checks a fresh pair of parsed schemas, so hamba's per-instance cache does
// not turn its check into a lookup.
func BenchmarkCompatibility(b *testing.B) {
	oldText, newText := wideRecord(60, ""), wideRecord(60, `{"name":"added","type":"string","default":""}`)
	b.Run("sluice", func(b *testing.B) {
		r, err := parseAvro(nil, newText)
		if err != nil {
			b.Fatal(err)
		}
		w, err := parseAvro(nil, oldText)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if in := readerWriter(r, w); len(in) > 0 {
				b.Fatal(in)
			}
		}
	})
	b.Run("hamba-baseline", func(b *testing.B) {
		r, err := avro.ParseWithCache(newText, "", &avro.SchemaCache{})
		if err != nil {
			b.Fatal(err)
		}
		w, err := avro.ParseWithCache(oldText, "", &avro.SchemaCache{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := avro.NewSchemaCompatibility().Compatible(r, w); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkParse compares validating a schema here (sluice's parser plus
// hamba's, as registration does) with hamba's parser alone, the baseline.
func BenchmarkParse(b *testing.B) {
	text := wideRecord(60, "")
	b.Run("registration", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parseAvro(nil, text); err != nil {
				b.Fatal(err)
			}
			_ = canonicalSchema(text)
		}
	})
	b.Run("hamba-baseline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := avro.ParseWithCache(text, "", &avro.SchemaCache{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
