package avro

import (
	"reflect"
	"testing"
)

// TestRecordSlots: a Record reads and writes its fields by name, refuses
// names it does not have, and becomes its map at any depth.
func TestRecordSlots(t *testing.T) {
	t.Parallel()
	if _, err := NewFields("a", "b", "a"); err == nil {
		t.Fatal("NewFields took a name twice")
	}
	addr, err := NewFields("city", "country_code")
	if err != nil {
		t.Fatal(err)
	}
	contact, err := NewFields("id", "address", "tags")
	if err != nil {
		t.Fatal(err)
	}
	a := addr.New()
	a.Set("city", "Lyon")
	c := contact.New()
	if !c.Set("id", "con_1") || !c.Set("address", map[string]any{"sluice.canonical.Address": a}) || !c.Set("tags", []any{a, "x"}) {
		t.Fatal("Set refused a field of the record")
	}
	if c.Set("email", "x") || c.Get("email") != nil {
		t.Error("Set or Get took a field the record does not have")
	}
	if got := c.Get("id"); got != "con_1" {
		t.Errorf("Get(id) = %v", got)
	}
	aMap := map[string]any{"city": "Lyon", "country_code": nil}
	want := map[string]any{
		"id":      "con_1",
		"address": map[string]any{"sluice.canonical.Address": aMap},
		"tags":    []any{aMap, "x"},
	}
	if got := c.Map(); !reflect.DeepEqual(got, want) {
		t.Errorf("Map() = %#v\nwant %#v", got, want)
	}
	plain := map[string]any{"k": []any{1}}
	if got := Plain(plain); reflect.ValueOf(got).Pointer() != reflect.ValueOf(plain).Pointer() {
		t.Error("Plain copied a map that holds no Record")
	}
	if got := Plain((*Record)(nil)); got != nil {
		t.Errorf("Plain(nil Record) = %v", got)
	}
}
