package module_test

import (
	"lifeline/hal/cellular/module"
	"lifeline/hal/cellular/notify"
)

// The SMS side plugs into hal/cellular/notify as it is: a Module is its
// Sender, and its Handler takes the received messages.
var (
	_ notify.Sender = (*module.Module)(nil)
	_               = module.WithSMSFunc((*notify.Handler)(nil).Receive)
)
