package avro

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/sr"
)

// Registration is the outcome of registering one binding.
type Registration struct {
	Binding
	// ID is the schema id the registry gave the schema.
	ID int
	// Version is the schema's version under the subject.
	Version int
}

// Register registers each binding's schema under its subject. A schema
// that is already registered keeps its id and version. It registers all it
// can and returns the errors of the others joined; a refusal as
// incompatible wraps ErrIncompatible.
func Register(ctx context.Context, cl *sr.Client, bindings ...Binding) ([]Registration, error) {
	var out []Registration
	var errs []error
	for _, b := range bindings {
		schema := sr.Schema{Schema: b.Schema.Text(), Type: sr.TypeAvro}
		_, err := cl.RegisterSchema(ctx, b.Subject, schema, -1, -1)
		if err != nil {
			errs = append(errs, registryError(b.Subject, err))
			continue
		}
		ss, err := cl.LookupSchema(ctx, b.Subject, schema)
		if err != nil {
			errs = append(errs, registryError(b.Subject, err))
			continue
		}
		out = append(out, Registration{Binding: b, ID: ss.ID, Version: ss.Version})
	}
	return out, errors.Join(errs...)
}

// Compatibility is the registry's verdict on one binding's schema.
type Compatibility struct {
	Binding
	// Compatible is true when the registry would accept the schema under
	// the subject's compatibility level; always true for a new subject.
	Compatible bool
	// NewSubject is true when the subject has no version yet.
	NewSubject bool
	// Messages are the registry's reasons when it is not compatible.
	Messages []string
}

// CheckCompatibility asks the registry whether each binding's schema is
// compatible with the latest version of its subject, under the subject's
// compatibility level. It checks all it can and returns the errors of the
// others joined.
func CheckCompatibility(ctx context.Context, cl *sr.Client, bindings ...Binding) ([]Compatibility, error) {
	var out []Compatibility
	var errs []error
	ctx = sr.WithParams(ctx, sr.Verbose)
	for _, b := range bindings {
		// Registries differ in what they answer for a subject without
		// versions, so ask first whether it has any.
		versions, err := cl.SubjectVersions(ctx, b.Subject)
		if isNotFound(err) || (err == nil && len(versions) == 0) {
			out = append(out, Compatibility{Binding: b, Compatible: true, NewSubject: true})
			continue
		}
		if err != nil {
			errs = append(errs, registryError(b.Subject, err))
			continue
		}
		schema := sr.Schema{Schema: b.Schema.Text(), Type: sr.TypeAvro}
		res, err := cl.CheckCompatibility(ctx, b.Subject, -1, schema)
		if err != nil {
			errs = append(errs, registryError(b.Subject, err))
			continue
		}
		out = append(out, Compatibility{Binding: b, Compatible: res.Is, Messages: res.Messages})
	}
	return out, errors.Join(errs...)
}

func registryError(subject string, err error) error {
	if IsIncompatible(err) {
		return fmt.Errorf("%w: %s: %v", ErrIncompatible, subject, err)
	}
	return fmt.Errorf("%w: %s: %v (code %d)", ErrRegistry, subject, err, errorCode(err))
}
