package identity

import (
	"strings"
	"testing"
)

// FuzzHasAnyByte holds hasAnyByte to strings.ContainsAny for the sets it
// is called with, on any string, UTF-8 or not.
func FuzzHasAnyByte(f *testing.F) {
	for _, s := range []string{"", "ada@example.com", "a|b", "{acme}", "ada <x>", "tab\there", "ümlaut, ok", "\xff\xfe;", "é/\\"} {
		f.Add(s)
	}
	sets := []string{"|{}", " \t\r\n<>,;", " \t\r\n@/\\"}
	f.Fuzz(func(t *testing.T, s string) {
		for _, set := range sets {
			if got, want := hasAnyByte(s, set), strings.ContainsAny(s, set); got != want {
				t.Errorf("hasAnyByte(%q, %q) = %v, want %v", s, set, got, want)
			}
		}
	})
}
