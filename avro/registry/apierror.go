package registry

import (
	"fmt"
	"net/http"
)

// Error codes of Confluent Schema Registry's REST API, in the "error_code"
// field of an error response.
const (
	codeSubjectNotFound             = 40401
	codeVersionNotFound             = 40402
	codeSchemaNotFound              = 40403
	codeSubjectSoftDeleted          = 40404
	codeSubjectNotSoftDeleted       = 40405
	codeVersionSoftDeleted          = 40406
	codeVersionNotSoftDeleted       = 40407
	codeSubjectCompatNotConfigured  = 40408
	codeSubjectModeNotConfigured    = 40409
	codeIncompatibleSchema          = 409
	codeIncompatibleSchemaConfluent = 40901
	codeInvalidSchema               = 42201
	codeInvalidVersion              = 42202
	codeInvalidCompatibility        = 42203
	codeInvalidMode                 = 42204
	codeOperationNotPermitted       = 42205
	codeReferenceExists             = 42206
	codeIDDoesNotMatch              = 42207
	codeInvalidSubject              = 42208
	codeStoreError                  = 50001
	codeOperationTimeout            = 50002
)

// apiError is an error answered to an HTTP client: a status, a Confluent
// error code and a message.
type apiError struct {
	status  int
	code    int
	message string
}

func (e *apiError) Error() string { return e.message }

func newAPIError(status, code int, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func errSubjectNotFound(subject string) *apiError {
	return newAPIError(http.StatusNotFound, codeSubjectNotFound, "Subject '%s' not found.", subject)
}

func errVersionNotFound(n int) *apiError {
	return newAPIError(http.StatusNotFound, codeVersionNotFound, "Version %d not found.", n)
}

func errSchemaNotFound() *apiError {
	return newAPIError(http.StatusNotFound, codeSchemaNotFound, "Schema not found")
}

func errSchemaIDNotFound(id int) *apiError {
	return newAPIError(http.StatusNotFound, codeSchemaNotFound, "Schema %d not found", id)
}

func errSubjectSoftDeleted(subject string) *apiError {
	return newAPIError(http.StatusNotFound, codeSubjectSoftDeleted, "Subject '%s' was soft deleted. Set permanent=true to delete permanently", subject)
}

func errSubjectNotSoftDeleted(subject string) *apiError {
	return newAPIError(http.StatusNotFound, codeSubjectNotSoftDeleted, "Subject '%s' was not deleted first before being permanently deleted", subject)
}

func errVersionSoftDeleted(subject string, n int) *apiError {
	return newAPIError(http.StatusNotFound, codeVersionSoftDeleted, "Subject '%s' Version %d was soft deleted. Set permanent=true to delete permanently", subject, n)
}

func errVersionNotSoftDeleted(subject string, n int) *apiError {
	return newAPIError(http.StatusNotFound, codeVersionNotSoftDeleted, "Subject '%s' Version %d was not deleted first before being permanently deleted", subject, n)
}

func errInvalidSchema(format string, args ...any) *apiError {
	return newAPIError(http.StatusUnprocessableEntity, codeInvalidSchema, "Invalid schema: "+format, args...)
}

func errInvalidVersion(v string) *apiError {
	return newAPIError(http.StatusUnprocessableEntity, codeInvalidVersion, "The specified version '%s' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"", v)
}

func errInvalidCompatibility() *apiError {
	return newAPIError(http.StatusUnprocessableEntity, codeInvalidCompatibility, "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive")
}

func errInvalidMode() *apiError {
	return newAPIError(http.StatusUnprocessableEntity, codeInvalidMode, "Invalid mode. Valid values are READWRITE, READONLY and IMPORT.")
}

func errNotPermitted(format string, args ...any) *apiError {
	return newAPIError(http.StatusUnprocessableEntity, codeOperationNotPermitted, format, args...)
}

func errReadOnly(subject string) *apiError {
	return errNotPermitted("Subject %s in context . is in read-only mode", subject)
}

func errReferenceExists(subject string, n int) *apiError {
	return newAPIError(http.StatusUnprocessableEntity, codeReferenceExists, "One or more references exist to the schema {magic=1,keytype=SCHEMA,subject=%s,version=%d}.", subject, n)
}

func errInvalidSubject(subject string) *apiError {
	return newAPIError(http.StatusUnprocessableEntity, codeInvalidSubject, "The specified subject '%s' is not valid.", subject)
}

func errBadRequest(format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, http.StatusBadRequest, format, args...)
}

func errStore(format string, args ...any) *apiError {
	return newAPIError(http.StatusInternalServerError, codeStoreError, format, args...)
}

func errTimeout(format string, args ...any) *apiError {
	return newAPIError(http.StatusInternalServerError, codeOperationTimeout, format, args...)
}

func errHTTP(status int) *apiError {
	return newAPIError(status, status, "HTTP %d %s", status, http.StatusText(status))
}
