package registry

import (
	"slices"
	"testing"
)

func TestStateApply(t *testing.T) {
	t.Parallel()
	schema := func(subject string, version, id int, text string, extra string) [2]string {
		return [2]string{
			string(schemaKey(subject, version)),
			`{"subject":"` + subject + `","version":` + itoa(version) + `,"id":` + itoa(id) + `,"schema":` + quote(text) + extra + `}`,
		}
	}
	tombstone := func(key []byte) [2]string { return [2]string{string(key), ""} }
	tests := []struct {
		name    string
		records [][2]string
		errs    int // records refused
		check   func(t *testing.T, st *state)
	}{
		{
			name:    "versions and ids",
			records: [][2]string{schema("a", 1, 3, `"int"`, ""), schema("b", 1, 3, `"int"`, `,"references":[]`), schema("a", 2, 4, `"long"`, `,"deleted":false`)},
			check: func(t *testing.T, st *state) {
				if st.maxID != 4 || len(st.ids) != 2 {
					t.Errorf("maxID %d, ids %d; want 4 and 2", st.maxID, len(st.ids))
				}
				if got := st.usages(3, false); len(got) != 2 {
					t.Errorf("usages of 3 = %v, want a and b (an empty reference list is no reference)", got)
				}
				if v := st.latest("a"); v == nil || v.version != 2 {
					t.Errorf("latest of a = %+v", v)
				}
			},
		},
		{
			name:    "an id reused for another schema is ignored",
			records: [][2]string{schema("a", 1, 1, `"int"`, ""), schema("b", 1, 1, `"string"`, "")},
			errs:    1,
			check: func(t *testing.T, st *state) {
				if st.hasSubject("b", true) || st.ids[1].text != `"int"` {
					t.Errorf("the losing record was applied: %+v", st.ids[1])
				}
			},
		},
		{
			name: "delete subject marks versions up to its version",
			records: [][2]string{
				schema("a", 1, 1, `"int"`, ""), schema("a", 2, 2, `"long"`, ""),
				{string(deleteSubjectKey("a")), `{"subject":"a","version":1}`},
			},
			check: func(t *testing.T, st *state) {
				if got := st.versions("a", false); len(got) != 1 || got[0].version != 2 {
					t.Errorf("live versions = %+v, want only 2", got)
				}
			},
		},
		{
			name: "tombstones and clear subject",
			records: [][2]string{
				schema("a", 1, 1, `"int"`, ""), schema("b", 1, 2, `"long"`, ""), schema("b", 2, 3, `"float"`, ""),
				tombstone(schemaKey("a", 1)),
				tombstone(schemaKey("a", 9)),
				{`{"keytype":"CLEAR_SUBJECT","subject":"b","magic":0}`, `{"subject":"b"}`},
			},
			check: func(t *testing.T, st *state) {
				if len(st.subjects) != 0 || len(st.ids) != 0 || len(st.byIdentity) != 0 {
					t.Errorf("left: subjects %v, ids %v", st.subjects, st.ids)
				}
				if st.maxID != 3 {
					t.Errorf("maxID = %d, want 3: ids are not given twice", st.maxID)
				}
			},
		},
		{
			name: "config and mode",
			records: [][2]string{
				{`{"keytype":"CONFIG","subject":null,"magic":0}`, `{"compatibilityLevel":"full"}`},
				{`{"keytype":"CONFIG","subject":"a","magic":0}`, `{"subject":"a","compatibilityLevel":"NONE"}`},
				{`{"keytype":"CONFIG","subject":"b","magic":0}`, `{"subject":"b","normalize":true}`},
				{`{"keytype":"MODE","magic":0}`, `{"mode":"READONLY"}`},
				{`{"keytype":"MODE","subject":"a","magic":0}`, `{"subject":"a","mode":"SOMETIMES"}`},
			},
			errs: 1,
			check: func(t *testing.T, st *state) {
				if st.levelFor("a", levelBackward) != levelNone || st.levelFor("b", levelBackward) != levelFull || st.levelFor("", levelBackward) != levelFull {
					t.Errorf("levels = %v", st.configs)
				}
				if st.modeFor("a") != modeReadOnly {
					t.Errorf("modes = %v", st.modes)
				}
			},
		},
		{
			name: "malformed records",
			records: [][2]string{
				{`not json`, `{}`},
				{`{"magic":0}`, `{}`},
				{`{"keytype":"SCHEMA","subject":"a","magic":1}`, `{}`},
				{string(schemaKey("a", 1)), `{"subject":"a","version":1,"id":0,"schema":"\"int\""}`},
				{string(schemaKey("a", 1)), `{"subject":"b","version":1,"id":1,"schema":"\"int\""}`},
				{string(schemaKey("a", 1)), `[`},
				{`{"keytype":"ASSOC","magic":0}`, `{}`},
				{string(noopKey()), ""},
			},
			errs: 6,
			check: func(t *testing.T, st *state) {
				if len(st.subjects) != 0 {
					t.Errorf("subjects = %v", st.subjects)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := newState()
			errs := 0
			for _, r := range tc.records {
				var v []byte
				if r[1] != "" {
					v = []byte(r[1])
				}
				if err := st.apply([]byte(r[0]), v); err != nil {
					errs++
				}
			}
			if errs != tc.errs {
				t.Errorf("%d records refused, want %d", errs, tc.errs)
			}
			tc.check(t, st)
		})
	}
}

func TestSubjectNames(t *testing.T) {
	t.Parallel()
	st := newState()
	for _, r := range [][2]string{
		{string(schemaKey("b", 1)), `{"subject":"b","version":1,"id":1,"schema":"\"int\""}`},
		{string(schemaKey("a", 1)), `{"subject":"a","version":1,"id":1,"schema":"\"int\"","deleted":true}`},
		{string(schemaKey("ab", 1)), `{"subject":"ab","version":1,"id":1,"schema":"\"int\""}`},
		{string(schemaKey("c", 1)), `{"subject":"c","version":1,"id":1,"schema":"\"int\"","deleted":true}`},
		{string(schemaKey("c", 2)), `{"subject":"c","version":2,"id":2,"schema":"\"long\""}`},
		{string(schemaKey("d", 1)), `{"subject":"d","version":1,"id":1,"schema":"\"int\"","deleted":true}`},
		{string(schemaKey("d", 2)), `{"subject":"d","version":2,"id":2,"schema":"\"long\"","deleted":true}`},
	} {
		if err := st.apply([]byte(r[0]), []byte(r[1])); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		prefix               string
		deleted, deletedOnly bool
		want                 []string
	}{
		{"", false, false, []string{"ab", "b", "c"}},
		{"", true, false, []string{"a", "ab", "b", "c", "d"}},
		// Only subjects all of whose versions are soft-deleted, as
		// Confluent lists them: not c, whose version 2 is live.
		{"", false, true, []string{"a", "d"}},
		{"", true, true, []string{"a", "d"}},
		{"a", true, false, []string{"a", "ab"}},
	} {
		if got := st.subjectNames(tc.prefix, tc.deleted, tc.deletedOnly); !slices.Equal(got, tc.want) {
			t.Errorf("subjectNames(%q, %v, %v) = %v, want %v", tc.prefix, tc.deleted, tc.deletedOnly, got, tc.want)
		}
	}
}

func itoa(n int) string { return string(mustJSON(n)) }

func quote(s string) string { return string(mustJSON(s)) }
