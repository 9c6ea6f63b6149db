package testkit

import (
	"reflect"
	"testing"
)

func TestAvroValue(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b any
		same bool
	}{
		{"decimal as fraction and as decimal", "2500001/2", "1250000.5", true},
		{"different decimals", "2500001/2", "1250000.4", false},
		{"time at two precisions", "2026-03-02T09:10:01.902311Z", "2026-03-02T09:10:01.902311000Z", true},
		{"time in another offset", "2026-03-02T10:10:01.9Z", "2026-03-02T11:10:01.9+01:00", true},
		{"different times", "2026-03-02T09:10:01.902Z", "2026-03-02T09:10:01.903Z", false},
		{"union branch named by its type", map[string]any{"a": map[string]any{"sluice.source.crm.Stage": "lead"}}, map[string]any{"a": "lead"}, true},
		{"a one-entry map is not a union", map[string]any{"a": map[string]any{"key": "lead"}}, map[string]any{"a": "lead"}, false},
		{"nulls and empties dropped", map[string]any{"a": nil, "b": []any{}, "c": map[string]any{}, "d": 1.0}, map[string]any{"d": 1.0}, true},
		{"plain strings kept", "lead", "Lead", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if same := reflect.DeepEqual(AvroValue(tc.a), AvroValue(tc.b)); same != tc.same {
				t.Errorf("AvroValue(%v) == AvroValue(%v) is %v, want %v", tc.a, tc.b, same, tc.same)
			}
		})
	}
}
