// Package avro holds the Avro contracts of sluice.
package avro
