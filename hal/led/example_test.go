package led_test

import (
	"fmt"
	"os"
	"time"

	"lifeline/hal/led"
	"lifeline/hal/led/ledtest"
)

func Example() {
	root, _ := os.MkdirTemp("", "leds")
	defer os.RemoveAll(root)
	// A fake /sys/class/leds; on the router, leave WithRoot out.
	ledtest.Make(root, ledtest.LED{Name: "green:phone", Trigger: "default-on", Brightness: 1, Max: 1})

	l, err := led.Open("green:phone", led.WithRoot(root))
	if err != nil {
		panic(err)
	}
	l.Set(led.Blink(100*time.Millisecond, 100*time.Millisecond)) // acknowledge a key combination
	fmt.Println(ledtest.Read(root, "green:phone", "trigger"), ledtest.Read(root, "green:phone", "delay_on"))
	l.Set(led.On())
	fmt.Println(ledtest.Read(root, "green:phone", "trigger"), ledtest.Read(root, "green:phone", "brightness"))
	l.Close() // gives the LED back to its default-on trigger
	fmt.Println(ledtest.Read(root, "green:phone", "trigger"))
	// Output:
	// timer 100
	// none 1
	// default-on
}
