package kamailio_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"lifeline/hal/kamailio"
	"lifeline/hal/kamailio/kamailiotest"
)

func Example() {
	dir, _ := os.MkdirTemp("", "kam")
	defer os.RemoveAll(dir)
	// A fake Kamailio; on the router the path is the config's RPC_SOCKET.
	srv, _ := kamailiotest.Start(filepath.Join(dir, "rpc.sock"))
	defer srv.Close()

	c, err := kamailio.Dial(srv.Path(), kamailio.WithLocalPath(filepath.Join(dir, "lifeline.sock")))
	if err != nil {
		panic(err)
	}
	defer c.Close()
	ctx := context.Background()
	k := kamailio.StartKeeper(ctx, c) // re-applies after Kamailio restarts
	defer k.Close()

	if err := k.Set(ctx, "pstn", "sip:127.0.0.1:5080"); err != nil {
		fmt.Println("not applied yet:", err)
	}
	route, uri, _ := c.NextHop(ctx)
	fmt.Println(route, uri)
	// Output: pstn sip:127.0.0.1:5080
}
