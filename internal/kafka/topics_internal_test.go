package kafka

import "testing"

// TestCreateConfigs checks that a topic of three replicas or more is
// created with min.insync.replicas 2 unless its spec says otherwise.
func TestCreateConfigs(t *testing.T) {
	one := "1"
	for _, tc := range []struct {
		r       int16
		configs map[string]*string
		want    string
	}{
		{1, nil, ""},
		{2, Compacted(), ""},
		{3, nil, "2"},
		{3, Compacted(), "2"},
		{5, map[string]*string{"min.insync.replicas": &one}, "1"},
	} {
		got := ""
		if v := createConfigs(tc.configs, tc.r)["min.insync.replicas"]; v != nil {
			got = *v
		}
		if got != tc.want {
			t.Errorf("replication %d, configs %v: min.insync.replicas %q, want %q", tc.r, tc.configs, got, tc.want)
		}
	}
	c := Compacted()
	createConfigs(c, 3)
	if _, changed := c["min.insync.replicas"]; changed {
		t.Error("createConfigs changed the spec's own map")
	}
}
