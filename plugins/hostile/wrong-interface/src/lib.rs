//! Exports an interface named like derl's reward interface but with the wrong
//! function types, used only by the tests.

wit_bindgen::generate!({
    inline: "
        package derl:plugin@0.1.0;
        interface reward {
            score: func(count: u32) -> u32;
            describe: func() -> string;
        }
        world impostor {
            export reward;
        }
    ",
});

struct Impostor;

impl exports::derl::plugin::reward::Guest for Impostor {
    fn score(count: u32) -> u32 {
        count
    }

    fn describe() -> String {
        "an impostor with the wrong signature".into()
    }
}

export!(Impostor);
