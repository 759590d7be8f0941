//! Actions: which commands are admissible where, their ALFWorld-style text,
//! and parsing a command back.
//!
//! Admissible actions are those that make sense syntactically at the
//! agent's location (like ALFWorld's admissible commands), so some of them
//! do nothing useful ("clean cellphone 1 with sinkbasin 1": "Nothing
//! happens."). They are listed in a stable order: `go to` every other
//! receptacle (in room order), then `open`/`close` here, `take` each object
//! here (hands empty), `put` the held object here, the appliance's
//! `clean`/`heat`/`cool`, `use` the lamp, `examine` here, `examine` the held
//! object, `look`, `inventory`.

use std::fmt::Write as _;

use crate::catalog::Transform;
use crate::world::{Place, World};

/// One command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// "go to cabinet 2".
    GoTo(usize),
    /// "open fridge 1".
    Open(usize),
    /// "close fridge 1".
    Close(usize),
    /// "take mug 1 from countertop 2".
    Take {
        /// The object.
        object: usize,
        /// Where it is.
        from: usize,
    },
    /// "put mug 1 in/on shelf 1".
    Put {
        /// The held object.
        object: usize,
        /// Where it goes.
        into: usize,
    },
    /// "clean mug 1 with sinkbasin 1", "heat ... with microwave 1", ...
    Apply {
        /// What the appliance does.
        transform: Transform,
        /// The held object.
        object: usize,
        /// The appliance.
        appliance: usize,
    },
    /// "use desklamp 1".
    UseLamp,
    /// "examine cabinet 2".
    ExamineReceptacle(usize),
    /// "examine mug 1" (the held object).
    ExamineObject(usize),
    /// "look".
    Look,
    /// "inventory".
    Inventory,
}

impl Action {
    /// Appends the command text to `out`.
    pub fn write_text(self, world: &World, out: &mut String) {
        let r = |i: usize| &world.receptacles[i];
        let o = |i: usize| &world.objects[i];
        let _ = match self {
            Action::GoTo(at) => write!(out, "go to {}", r(at)),
            Action::Open(at) => write!(out, "open {}", r(at)),
            Action::Close(at) => write!(out, "close {}", r(at)),
            Action::Take { object, from } => write!(out, "take {} from {}", o(object), r(from)),
            Action::Put { object, into } => write!(out, "put {} in/on {}", o(object), r(into)),
            Action::Apply {
                transform,
                object,
                appliance,
            } => write!(
                out,
                "{} {} with {}",
                transform.verb(),
                o(object),
                r(appliance)
            ),
            Action::UseLamp => match &world.lamp {
                Some(lamp) => write!(out, "use {lamp}"),
                None => write!(out, "use lamp"),
            },
            Action::ExamineReceptacle(at) => write!(out, "examine {}", r(at)),
            Action::ExamineObject(object) => write!(out, "examine {}", o(object)),
            Action::Look => write!(out, "look"),
            Action::Inventory => write!(out, "inventory"),
        };
    }

    /// The command text.
    pub fn text(self, world: &World) -> String {
        let mut text = String::with_capacity(32);
        self.write_text(world, &mut text);
        text
    }
}

/// Replaces `out` with the admissible actions of `world`, in stable order.
pub fn admissible(world: &World, out: &mut Vec<Action>) {
    out.clear();
    out.extend(
        (0..world.receptacles.len())
            .filter(|&i| world.agent != Some(i))
            .map(Action::GoTo),
    );
    if let Some(here) = world.agent {
        let receptacle = &world.receptacles[here];
        if receptacle.kind.openable {
            out.push(if receptacle.open {
                Action::Close(here)
            } else {
                Action::Open(here)
            });
        }
        if receptacle.accessible() {
            match world.held {
                None => out.extend(
                    world
                        .contents(here)
                        .map(|object| Action::Take { object, from: here }),
                ),
                Some(object) => out.push(Action::Put { object, into: here }),
            }
        }
        if let (Some(transform), Some(object)) = (receptacle.kind.appliance, world.held) {
            out.push(Action::Apply {
                transform,
                object,
                appliance: here,
            });
        }
        if world.at_lamp() {
            out.push(Action::UseLamp);
        }
        out.push(Action::ExamineReceptacle(here));
    }
    if let Some(object) = world.held {
        debug_assert_eq!(world.objects[object].place, Place::Held);
        out.push(Action::ExamineObject(object));
    }
    out.push(Action::Look);
    out.push(Action::Inventory);
}

/// Parses a command typed by a person or a language model into the
/// admissible action with the same text (case and spacing are ignored);
/// `None` when no admissible action matches.
pub fn parse(world: &World, command: &str) -> Option<Action> {
    let wanted: Vec<&str> = command.split_whitespace().collect();
    let mut actions = Vec::new();
    admissible(world, &mut actions);
    let mut text = String::with_capacity(32);
    actions.into_iter().find(|action| {
        text.clear();
        action.write_text(world, &mut text);
        text.split_whitespace()
            .map(str::to_ascii_lowercase)
            .eq(wanted.iter().map(|w| w.to_ascii_lowercase()))
    })
}

#[cfg(test)]
mod tests {
    use derl_env_api::Split;

    use super::*;
    use crate::rng::Rng;
    use crate::task::{Difficulty, generate};

    fn kitchen() -> World {
        let index = (0..)
            .find(|&i| generate(Split::Train, i, Difficulty::Normal).room.name == "kitchen")
            .unwrap();
        let spec = generate(Split::Train, index, Difficulty::Normal);
        World::populate(&spec, &mut Rng::from_parts(&[1]))
    }

    fn texts(world: &World) -> Vec<String> {
        let mut actions = Vec::new();
        admissible(world, &mut actions);
        actions.iter().map(|a| a.text(world)).collect()
    }

    #[test]
    fn middle_of_room_offers_every_receptacle_then_look_and_inventory() {
        let world = kitchen();
        let texts = texts(&world);
        assert_eq!(texts.len(), world.receptacles.len() + 2);
        assert_eq!(texts[0], format!("go to {}", world.receptacles[0]));
        assert_eq!(&texts[texts.len() - 2..], ["look", "inventory"]);
    }

    #[test]
    fn closed_receptacles_hide_takes_until_opened() {
        let mut world = kitchen();
        let fridge = world
            .receptacles
            .iter()
            .position(|r| r.kind.name == "fridge")
            .unwrap();
        world.objects[0].place = Place::In(fridge);
        world.agent = Some(fridge);
        let closed = texts(&world);
        assert!(closed.contains(&"open fridge 1".to_owned()));
        assert!(!closed.iter().any(|t| t.starts_with("take ")));
        assert!(!closed.iter().any(|t| t.starts_with("go to fridge 1")));
        world.receptacles[fridge].open = true;
        let open = texts(&world);
        assert!(open.contains(&"close fridge 1".to_owned()));
        assert!(open.contains(&format!("take {} from fridge 1", world.objects[0])));
    }

    #[test]
    fn holding_offers_put_apply_and_examine() {
        let mut world = kitchen();
        let sink = world
            .receptacles
            .iter()
            .position(|r| r.kind.name == "sinkbasin")
            .unwrap();
        world.agent = Some(sink);
        world.objects[0].place = Place::Held;
        world.held = Some(0);
        let object = world.objects[0].to_string();
        let texts = texts(&world);
        assert!(texts.contains(&format!("put {object} in/on sinkbasin 1")));
        assert!(texts.contains(&format!("clean {object} with sinkbasin 1")));
        assert!(texts.contains(&format!("examine {object}")));
        assert!(!texts.iter().any(|t| t.starts_with("take ")));
    }

    #[test]
    fn parse_round_trips_every_admissible_action() {
        let mut world = kitchen();
        world.agent = Some(0);
        world.receptacles[0].open = true;
        let mut actions = Vec::new();
        admissible(&world, &mut actions);
        for action in actions {
            let text = action.text(&world);
            assert_eq!(parse(&world, &text), Some(action), "{text}");
            assert_eq!(
                parse(&world, &format!("  {}  ", text.to_uppercase())),
                Some(action)
            );
        }
        assert_eq!(parse(&world, "dance"), None);
        assert_eq!(parse(&world, "go to moon 1"), None);
    }
}
