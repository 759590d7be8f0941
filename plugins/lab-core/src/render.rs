//! Observation text: everything a memoryless policy needs, in a fixed layout.
//! The task is its own field (`Task: Your task is to boil the milk. ...`), the
//! situation text follows:
//!
//! ```text
//! You are in the kitchen. Exits: hallway. Step 7 of 40.
//! You see: stove (on) [metal pot [milk (liquid)]], sink (off), freezer (empty), ...
//! You carry: thermometer.
//! Readings: milk 4 C.
//! Recent actions: pick up metal pot; put metal pot on stove; turn on stove.
//! Last: You turn on the stove.
//! ```
//! Substances show their state of matter; temperatures are shown only as
//! thermometer readings.

use crate::circuit;
use crate::world::{Kind, ObjectId, Place, Room, World};

/// How many thermometer readings the observation lists.
const READINGS_SHOWN: usize = 3;

/// The observation's task field for `goal`, the goal in words.
pub fn task(goal: &str) -> String {
    format!("Task: {goal}")
}

/// The episode facts the text reports besides the world itself.
pub struct Context<'a> {
    /// Steps taken so far.
    pub step: u32,
    /// Step budget.
    pub max_steps: u32,
    /// The most recent actions, oldest first.
    pub recent: &'a [String],
    /// What the last action did.
    pub last: &'a str,
}

/// Renders the observation's situation text.
pub fn observation(world: &World, context: &Context<'_>) -> String {
    let mut text = String::with_capacity(640);
    let exits: Vec<&str> = if world.agent == Room::Hallway {
        world
            .rooms
            .iter()
            .filter(|&&r| r != Room::Hallway)
            .map(|r| r.name())
            .collect()
    } else {
        vec![Room::Hallway.name()]
    };
    text.push_str(&format!(
        "You are in the {}. Exits: {}. Step {} of {}.",
        world.agent.name(),
        exits.join(", "),
        context.step,
        context.max_steps
    ));
    let here: Vec<String> = world
        .ids()
        .filter(|&o| world.objects[o].place == Place::Room(world.agent))
        .map(|o| describe(world, o))
        .collect();
    text.push_str("\nYou see: ");
    text.push_str(&list(&here));
    let carried: Vec<String> = world
        .ids()
        .filter(|&o| world.objects[o].place == Place::Carried)
        .map(|o| describe(world, o))
        .collect();
    text.push_str(".\nYou carry: ");
    text.push_str(&list(&carried));
    text.push('.');
    if !world.readings.is_empty() {
        let start = world.readings.len().saturating_sub(READINGS_SHOWN);
        let readings: Vec<String> = world.readings[start..]
            .iter()
            .map(|r| format!("{} {} C", world.label(r.substance), r.celsius))
            .collect();
        text.push_str("\nReadings: ");
        text.push_str(&readings.join(", "));
        text.push('.');
    }
    text.push_str("\nRecent actions: ");
    text.push_str(&if context.recent.is_empty() {
        "none".to_owned()
    } else {
        context.recent.join("; ")
    });
    text.push_str(".\nLast: ");
    text.push_str(context.last);
    text
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "nothing".to_owned()
    } else {
        items.join(", ")
    }
}

/// One object with its state and, in brackets, what is in or on it.
pub fn describe(world: &World, id: ObjectId) -> String {
    let object = &world.objects[id];
    let state: Option<&str> = match object.kind {
        Kind::Stove { on, .. } | Kind::Switch { on } => Some(if on { "on" } else { "off" }),
        Kind::Sink { on } => Some(if on { "running" } else { "off" }),
        Kind::Substance { .. } => world.matter(id).map(|m| m.name()),
        Kind::FlowerPot { moisture } => {
            let has_soil = world
                .children(id)
                .any(|c| world.objects[c].kind == Kind::Soil);
            Some(match (has_soil, moisture > 0) {
                (false, _) => "no soil",
                (true, true) => "wet soil",
                (true, false) => "dry soil",
            })
        }
        Kind::Plant { stage, .. } => Some(stage.name()),
        Kind::WateringCan { full } => Some(if full { "full" } else { "empty" }),
        Kind::Device { on, off } => Some(if circuit::is_powered(world, id) {
            on
        } else {
            off
        }),
        _ => None,
    };
    let holds = matches!(
        object.kind,
        Kind::Container { .. }
            | Kind::Cooler { .. }
            | Kind::Box
            | Kind::Stove { .. }
            | Kind::Sink { .. }
    );
    let inside: Vec<String> = world.children(id).map(|c| describe(world, c)).collect();
    let empty = (holds && inside.is_empty()).then_some("empty");
    let mut text = world.label(id);
    match (state, empty) {
        (Some(state), Some(empty)) => text.push_str(&format!(" ({state}, {empty})")),
        (Some(note), None) | (None, Some(note)) => text.push_str(&format!(" ({note})")),
        (None, None) => {}
    }
    if !inside.is_empty() {
        text.push_str(" [");
        text.push_str(&inside.join(", "));
        text.push(']');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::Physics;

    #[test]
    fn nesting_and_states_are_shown() {
        let mut world = World::new(
            vec![Room::Hallway, Room::Kitchen],
            Room::Kitchen,
            Physics {
                ticks_per_stage: 2,
                moisture_ticks: 5,
            },
        );
        let stove = world.add(
            "stove",
            Kind::Stove { on: true, rate: 20 },
            Place::Room(Room::Kitchen),
        );
        let pot = world.add(
            "metal pot",
            Kind::Container { heatproof: true },
            Place::In(stove),
        );
        let milk = world.add(
            "milk",
            Kind::Substance {
                melting: -1,
                boiling: 100,
                temperature: 4,
            },
            Place::In(pot),
        );
        world.add("cup", Kind::Container { heatproof: false }, Place::Carried);
        world.readings.push(crate::world::Reading {
            substance: milk,
            celsius: 4,
        });
        let recent = ["go to kitchen".to_owned()];
        let text = observation(
            &world,
            &Context {
                step: 3,
                max_steps: 40,
                recent: &recent,
                last: "You go to the kitchen.",
            },
        );
        assert_eq!(
            text,
            "You are in the kitchen. Exits: hallway. Step 3 of 40.\n\
             You see: stove (on) [metal pot [milk (liquid)]].\nYou carry: cup (empty).\n\
             Readings: milk 4 C.\nRecent actions: go to kitchen.\nLast: You go to the kitchen."
        );
        assert_eq!(task("Boil the milk."), "Task: Boil the milk.");
    }
}
