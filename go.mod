module lifeline

go 1.26.8

require (
	github.com/creack/pty v1.1.24 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/vishvananda/netlink v1.3.1 // indirect
	github.com/vishvananda/netns v0.0.5 // indirect
	github.com/warthog618/go-gpiocdev v0.9.1 // indirect
	github.com/warthog618/go-gpiosim v0.1.2 // indirect
	go.bug.st/serial v1.8.0 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	golang.org/x/sys v0.43.0 // indirect
)
