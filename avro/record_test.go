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
	// Field reads a map and a Record alike, and nothing else.
	for _, v := range []any{c, want} {
		if got := Field(v, "id"); got != "con_1" {
			t.Errorf("Field(%T, id) = %v", v, got)
		}
	}
	if Field("x", "id") != nil || Field((*Record)(nil), "id") != nil {
		t.Error("Field read a field of something that is no record")
	}
	// Where no schema orders them, a map's fields are in name order.
	r := recordOfMap(map[string]any{"b": 2, "a": 1})
	if r.Fields.Name(0) != "a" || r.Fields.Name(1) != "b" || !reflect.DeepEqual(r.Values, []any{1, 2}) {
		t.Errorf("recordOfMap = %v %v", r.Fields.names, r.Values)
	}
}
