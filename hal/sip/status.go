package sip

// Status codes the project sends or acts on (RFC 3261 §21, RFC 3262,
// RFC 4028, RFC 6665).
const (
	StatusTrying                 = 100
	StatusRinging                = 180
	StatusSessionProgress        = 183
	StatusOK                     = 200
	StatusAccepted               = 202
	StatusBadRequest             = 400
	StatusUnauthorized           = 401
	StatusForbidden              = 403
	StatusNotFound               = 404
	StatusMethodNotAllowed       = 405
	StatusRequestTimeout         = 408
	StatusRequestEntityTooLarge  = 413
	StatusUnsupportedMediaType   = 415
	StatusBadExtension           = 420
	StatusIntervalTooBrief       = 422
	StatusTemporarilyUnavailable = 480
	StatusCallDoesNotExist       = 481
	StatusLoopDetected           = 482
	StatusTooManyHops            = 483
	StatusAddressIncomplete      = 484
	StatusBusyHere               = 486
	StatusRequestTerminated      = 487
	StatusNotAcceptableHere      = 488
	StatusRequestPending         = 491
	StatusServerInternalError    = 500
	StatusNotImplemented         = 501
	StatusServiceUnavailable     = 503
	StatusDecline                = 603
)

var statusText = map[int]string{
	100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued", 183: "Session Progress",
	200: "OK", 202: "Accepted",
	300: "Multiple Choices", 301: "Moved Permanently", 302: "Moved Temporarily",
	400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
	406: "Not Acceptable", 407: "Proxy Authentication Required", 408: "Request Timeout",
	413: "Request Entity Too Large", 414: "Request-URI Too Long", 415: "Unsupported Media Type",
	416: "Unsupported URI Scheme", 420: "Bad Extension", 421: "Extension Required", 422: "Session Interval Too Small",
	480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist", 482: "Loop Detected",
	483: "Too Many Hops", 484: "Address Incomplete", 485: "Ambiguous", 486: "Busy Here",
	487: "Request Terminated", 488: "Not Acceptable Here", 491: "Request Pending",
	500: "Server Internal Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
	504: "Server Time-out", 505: "Version Not Supported", 513: "Message Too Large",
	600: "Busy Everywhere", 603: "Decline", 604: "Does Not Exist Anywhere", 606: "Not Acceptable",
}

// StatusText is the RFC reason phrase of code, or its class's ("Client
// Error" for an unknown 4xx).
func StatusText(code int) string {
	if t, ok := statusText[code]; ok {
		return t
	}
	switch code / 100 {
	case 1:
		return "Session Progress"
	case 2:
		return "OK"
	case 3:
		return "Redirection"
	case 4:
		return "Client Error"
	case 5:
		return "Server Error"
	}
	return "Global Failure"
}
