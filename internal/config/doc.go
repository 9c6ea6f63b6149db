// Package config loads and validates sluice.yaml, the integration catalog:
// tenants, integrations and destinations.
//
// The catalog says what sluice connects and for whom. Infrastructure
// addresses (Kafka, schema registry, Redis, Postgres) are not part of it;
// they come from the environment (kafka.ConfigFromEnv, and the README's
// configuration table).
//
// Load fails on the first file that cannot be read or parsed, and otherwise
// reports every invalid field at once, each with its path in the document
// and its line, for example:
//
//	sluice.yaml:14: integrations[0].signature.scheme: expected one of
//	standard-webhooks, stripe, github, shopify, slack, hmac; got "sha1"
//
// Secrets are never written in the catalog itself, only referenced:
// "env:NAME" reads an environment variable, "file:path" a file (relative
// paths are taken from the catalog's directory). A Secret prints as
// "env:NAME", never as its value.
package config
