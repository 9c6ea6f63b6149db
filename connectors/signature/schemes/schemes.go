// Package schemes builds a webhook signature verifier from its name in
// configuration: "standard-webhooks", "stripe", "github", "shopify",
// "slack" or "hmac".
//
// It is the one place that knows every scheme, so the ingress and the
// configuration checks need only Config and New.
package schemes

import (
	"fmt"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors/github"
	"github.com/sluicehq/sluice/connectors/hmac"
	"github.com/sluicehq/sluice/connectors/shopify"
	"github.com/sluicehq/sluice/connectors/signature"
	"github.com/sluicehq/sluice/connectors/slack"
	"github.com/sluicehq/sluice/connectors/standardwebhooks"
	"github.com/sluicehq/sluice/connectors/stripe"
)

// Config selects and configures a scheme.
type Config struct {
	// Scheme is one of Names().
	Scheme string
	// Secrets are the active secrets, already resolved from their
	// references, in the scheme's format; several during a rotation.
	Secrets []string
	// Tolerance is how far a signed timestamp may be from now. Default
	// (zero): signature.DefaultTolerance, 5 minutes.
	Tolerance time.Duration
	// MaxBody is the longest body accepted, in bytes. Default (zero):
	// signature.DefaultMaxBody, 1 MiB.
	MaxBody int64
	// HMAC configures the "hmac" scheme; required for it and refused for
	// the others.
	HMAC *hmac.Config
}

// Names lists the schemes New knows.
func Names() []string {
	return []string{standardwebhooks.Name, stripe.Name, github.Name, shopify.Name, slack.Name, hmac.Name}
}

// New returns the verifier cfg describes. Errors wrap
// signature.ErrBadConfig (an unknown scheme, a missing or misplaced HMAC
// configuration, a bad option) or signature.ErrBadSecret, and never
// include a secret.
func New(cfg Config) (signature.Verifier, error) {
	var opts []signature.Opt
	if cfg.Tolerance != 0 {
		opts = append(opts, signature.Tolerance(cfg.Tolerance))
	}
	if cfg.MaxBody != 0 {
		opts = append(opts, signature.MaxBody(cfg.MaxBody))
	}
	if cfg.HMAC != nil && cfg.Scheme != hmac.Name {
		return nil, fmt.Errorf("%w: hmac settings are for the %q scheme only, not %q", signature.ErrBadConfig, hmac.Name, cfg.Scheme)
	}
	// Each case returns its own concrete pointer, so a failed constructor
	// gives a nil interface.
	switch cfg.Scheme {
	case standardwebhooks.Name:
		return verifier(standardwebhooks.New(cfg.Secrets, opts...))
	case stripe.Name:
		return verifier(stripe.New(cfg.Secrets, opts...))
	case github.Name:
		return verifier(github.New(cfg.Secrets, opts...))
	case shopify.Name:
		return verifier(shopify.New(cfg.Secrets, opts...))
	case slack.Name:
		return verifier(slack.New(cfg.Secrets, opts...))
	case hmac.Name:
		if cfg.HMAC == nil {
			return nil, fmt.Errorf("%w: the %q scheme needs its hmac settings", signature.ErrBadConfig, hmac.Name)
		}
		return verifier(hmac.New(*cfg.HMAC, cfg.Secrets, opts...))
	}
	return nil, fmt.Errorf("%w: unknown signature scheme %q; expected one of %s", signature.ErrBadConfig, cfg.Scheme, strings.Join(Names(), ", "))
}

// verifier turns a constructor's concrete result into the interface,
// keeping a nil pointer from becoming a non-nil interface.
func verifier[V interface {
	*T
	signature.Verifier
}, T any](v V, err error) (signature.Verifier, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}
