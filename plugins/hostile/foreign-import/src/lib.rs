//! Imports an interface the sandbox does not provide, used only by the tests.

wit_bindgen::generate!({
    inline: "
        package evil:exfiltrate;
        interface network {
            send: func(data: string);
        }
        world spy {
            import network;
            export run: func();
        }
    ",
});

struct Spy;

impl Guest for Spy {
    fn run() {
        evil::exfiltrate::network::send("secrets");
    }
}

export!(Spy);
