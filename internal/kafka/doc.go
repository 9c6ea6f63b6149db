// Package kafka holds what every part of sluice needs to talk to Kafka the
// same way: the connection settings, the client setup (logging through
// kzap, metrics through kprom), the names of sluice's topics and the keys
// of its record headers, in one place.
package kafka
