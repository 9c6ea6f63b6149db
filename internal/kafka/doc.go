// Package kafka holds what every part of sluice needs to talk to Kafka the
// same way: the connection settings, the client setup (logging through
// kzap, metrics through kprom), the names of sluice's topics, the
// namespace that puts a deployment's names apart from another's on a
// shared cluster (Namespace), and the keys of its record headers, in one
// place.
package kafka
