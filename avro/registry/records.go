package registry

import (
	"encoding/json"
	"errors"
)

// Storage records: the key and value types of Confluent Schema Registry's
// _schemas topic. The package documentation shows them.

const (
	keySchema        = "SCHEMA"
	keyConfig        = "CONFIG"
	keyMode          = "MODE"
	keyDeleteSubject = "DELETE_SUBJECT"
	keyClearSubject  = "CLEAR_SUBJECT"
	keyNoop          = "NOOP"
)

type recordKey struct {
	KeyType string  `json:"keytype"`
	Subject *string `json:"subject,omitempty"`
	Version *int    `json:"version,omitempty"`
	Magic   int     `json:"magic"`
}

// Reference is a reference from one schema to another, as in Confluent's
// API: the name of the referenced type, and the subject and version that
// hold its schema.
type Reference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

type schemaValue struct {
	Subject    string      `json:"subject"`
	Version    int         `json:"version"`
	ID         int         `json:"id"`
	SchemaType string      `json:"schemaType,omitempty"`
	References []Reference `json:"references,omitempty"`
	Schema     string      `json:"schema"`
	Deleted    bool        `json:"deleted"`
}

type configValue struct {
	Subject            string `json:"subject,omitempty"`
	CompatibilityLevel string `json:"compatibilityLevel,omitempty"`
}

type modeValue struct {
	Subject string `json:"subject,omitempty"`
	Mode    string `json:"mode,omitempty"`
}

type deleteSubjectValue struct {
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

type clearSubjectValue struct {
	Subject string `json:"subject"`
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("registry: encoding a storage record: " + err.Error()) // only plain structs are encoded
	}
	return b
}

func subjectPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func schemaKey(subject string, version int) []byte {
	return mustJSON(recordKey{KeyType: keySchema, Subject: &subject, Version: &version, Magic: 1})
}

func configKey(subject string) []byte {
	return mustJSON(recordKey{KeyType: keyConfig, Subject: subjectPtr(subject)})
}

func modeKey(subject string) []byte {
	return mustJSON(recordKey{KeyType: keyMode, Subject: subjectPtr(subject)})
}

func deleteSubjectKey(subject string) []byte {
	return mustJSON(recordKey{KeyType: keyDeleteSubject, Subject: &subject})
}

func noopKey() []byte {
	return mustJSON(recordKey{KeyType: keyNoop})
}

// storeRecord is a key and value to write; a nil value is a tombstone.
type storeRecord struct {
	key, value []byte
}

var errBadKey = errors.New("registry: storage record key is not a registry key")

func decodeKey(b []byte) (recordKey, error) {
	var k recordKey
	if err := json.Unmarshal(b, &k); err != nil {
		return k, errBadKey
	}
	if k.KeyType == "" {
		return k, errBadKey
	}
	return k, nil
}
