package transform

import "errors"

// Errors of the transform package. The stage fails records with them,
// classified for the runner (stage.Permanent, stage.Poison), so their
// messages travel in dead letters' error-message header: they name
// fields and paths, never values.
var (
	// ErrConfig is returned by New for a catalog or option the stage
	// cannot run with: an integration without a mapping, a mapping that
	// does not compile.
	ErrConfig = errors.New("transform: invalid configuration")
	// ErrNoIntegration fails, as permanent, a record of a topic that is
	// no integration's input.
	ErrNoIntegration = errors.New("transform: the record's topic belongs to no integration")
	// ErrUnknownTenant fails, as permanent, a record of a tenant that is
	// not in the catalog.
	ErrUnknownTenant = errors.New("transform: tenant is not in the catalog")
	// ErrTenantMismatch fails, as poison, a record whose envelope names
	// another tenant than its tenant-id header.
	ErrTenantMismatch = errors.New("transform: envelope tenant differs from the tenant-id header")
	// ErrDecode fails a record whose value cannot be read: poison when it
	// is not Avro of a known schema, retryable when its schema id is not
	// known to the registry yet, permanent when its writer schema cannot
	// be read as the local contract.
	ErrDecode = errors.New("transform: cannot decode the source event")
	// ErrEncode fails, as permanent, a canonical event that does not fit
	// its contract: a mapping that builds something the canonical model
	// does not accept.
	ErrEncode = errors.New("transform: cannot encode the canonical event")
)
