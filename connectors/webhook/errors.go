package webhook

import "errors"

// Errors of the webhook package.
var (
	// ErrConfig is returned by New for an invalid URL, secret or option.
	ErrConfig = errors.New("webhook: invalid configuration")
	// ErrForbiddenAddress is returned when the endpoint resolves to an
	// address the client must not connect to (see the package doc).
	ErrForbiddenAddress = errors.New("webhook: address not allowed")
	// ErrBadMessageID is returned by Send for a message id the Standard
	// Webhooks specification does not allow; see MessageID.
	ErrBadMessageID = errors.New("webhook: bad message id")
)
