package avro

import (
	"encoding/hex"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	havro "github.com/hamba/avro/v2"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// loadSchemas loads the embedded contracts or fails the test.
func loadSchemas(t testing.TB) *Schemas {
	t.Helper()
	s, err := LoadSchemas()
	if err != nil {
		t.Fatalf("LoadSchemas: %v", err)
	}
	return s
}

// dataSchema returns the schema of an event record's payload.
func dataSchema(t testing.TB, s *Schemas, record string) havro.Schema {
	t.Helper()
	sc, ok := s.Lookup(record)
	if !ok {
		t.Fatalf("no schema %s", record)
	}
	return sc.parsed.(*havro.RecordSchema).Fields()[1].Type()
}

// golden compares got with the golden file at path, or rewrites it with
// -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file %s: %v (run go test -update to create it)", path, err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from what the code produces now (go test -update rewrites it after review):\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

// hexDump renders bytes 32 to a line, diff-friendly.
func hexDump(b []byte) string {
	var sb strings.Builder
	for len(b) > 0 {
		n := min(32, len(b))
		sb.WriteString(hex.EncodeToString(b[:n]))
		sb.WriteByte('\n')
		b = b[n:]
	}
	return sb.String()
}

// nativeEqual compares native values the way they mean: times by instant
// (hamba decodes local timestamps in time.Local), decimals by value.
func nativeEqual(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !nativeEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !nativeEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	case *big.Rat:
		y, ok := b.(*big.Rat)
		return ok && x.Cmp(y) == 0
	}
	return reflect.DeepEqual(a, b)
}
