module lifeline

go 1.26.8

require (
	github.com/creack/pty v1.1.24
	github.com/emiago/sipgo v1.7.3
	github.com/vishvananda/netlink v1.3.1
	github.com/vishvananda/netns v0.0.5
	github.com/warthog618/go-gpiocdev v0.9.1
	github.com/warthog618/go-gpiosim v0.1.2
	go.bug.st/serial v1.8.0
	go.uber.org/goleak v1.3.0
	golang.org/x/sys v0.43.0
)

require (
	github.com/gobwas/httphead v0.1.0 // indirect
	github.com/gobwas/pool v0.2.1 // indirect
	github.com/gobwas/ws v1.3.2 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/icholy/digest v1.2.0 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	golang.org/x/sync v0.16.0 // indirect
)

replace go.bug.st/serial v1.8.0 => ./hal/third_party/go.bug.st/serial
