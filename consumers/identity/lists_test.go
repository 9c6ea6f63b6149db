package identity

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// appendMember appends member m to id list l, as the scripts' add does.
func appendMember(l, m string) string { return l + strconv.Itoa(len(m)) + ":" + m + "," }

func TestParseListRoundTrips(t *testing.T) {
	t.Parallel()
	alphabet := []byte("ab|:,0123456789\n\x00\xff ")
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		var l string
		var want []string
		for range rng.IntN(5) {
			m := make([]byte, rng.IntN(14))
			for i := range m {
				m[i] = alphabet[rng.IntN(len(alphabet))]
			}
			want = append(want, string(m))
			l = appendMember(l, string(m))
		}
		got, err := parseList(l)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("parseList(%q) = %q, %v; want %q", l, got, err, want)
		}
	}
}

func TestParseListRefusesWhatIsNotNetstrings(t *testing.T) {
	t.Parallel()
	for _, l := range []string{
		"3:ab,", "2:abc,", "2:ab", "2:ab;", "x:ab,", "2ab,", ":ab,", "-1:,", "+2:ab,", " 2:ab,",
		"2:ab,3", "2:ab,3:", "99999999999:a,", "3:a,b", "1:a,,",
	} {
		if got, err := parseList(l); err == nil {
			t.Errorf("parseList(%q) = %q, want an error", l, got)
		} else if !strings.Contains(err.Error(), "not netstrings at byte") {
			t.Errorf("parseList(%q): %v, want it to say where", l, err)
		}
	}
}

func TestHasMember(t *testing.T) {
	t.Parallel()
	members := []string{member("crm", "crm-eu", "12"), member("desk", "", "u:7,8")}
	for _, c := range []struct {
		system, integration, id string
		want                    bool
	}{
		{"crm", "crm-eu", "12", true},
		{"desk", "", "u:7,8", true},
		{"crm", "crm-eu", "2", false},
		{"crm", "crm-e", "u12", false},
		{"cr", "m|crm-eu", "12", false},
		{"crm", "crm-eu", "123", false},
		{"desk", "", "u:7", false},
		{"crm", "", "12", false},
	} {
		if got := hasMember(members, c.system, c.integration, c.id); got != c.want {
			t.Errorf("hasMember(%q, %q, %q) = %v, want %v", c.system, c.integration, c.id, got, c.want)
		}
	}
}
