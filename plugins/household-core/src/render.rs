//! Text the agent reads: descriptions of receptacles and the room, the
//! inventory, and the whole observation.
//!
//! The observation is written for a policy without memory: it repeats the
//! goal, says where the agent is and what it sees there, what it carries (with
//! the states it gave the object), and for every receptacle what the agent
//! knows: `unvisited`, `closed` (visited, never seen inside) or `searched`
//! with its current contents. Each receptacle's status word comes right
//! before its name, so even a bag of word pairs tells which kinds are still
//! unexplored.

use std::fmt::Write as _;

use crate::task::TaskSpec;
use crate::world::World;

/// Appends what the agent sees at `receptacle`: "The fridge 1 is closed.",
/// "The fridge 1 is open. In it, you see an apple 1.", "On the shelf 1, you
/// see nothing."
pub fn describe_receptacle(world: &World, receptacle: usize, out: &mut String) {
    let r = &world.receptacles[receptacle];
    if r.kind.openable && !r.open {
        let _ = write!(out, "The {r} is closed.");
        return;
    }
    if r.kind.openable {
        let _ = write!(out, "The {r} is open. In it, you see ");
    } else if r.kind.inside {
        let _ = write!(out, "In the {r}, you see ");
    } else {
        let _ = write!(out, "On the {r}, you see ");
    }
    world.write_contents(receptacle, out);
    out.push('.');
}

/// Appends the room overview: "You are in the middle of the kitchen.
/// Looking quickly around you, you see a cabinet 1, ..., and a toilet 1."
pub fn describe_room(spec: &TaskSpec, world: &World, out: &mut String) {
    let _ = write!(
        out,
        "You are in the middle of the {}. Looking quickly around you, you see ",
        spec.room.name
    );
    let last = world.receptacles.len().saturating_sub(1);
    for (i, r) in world.receptacles.iter().enumerate() {
        if i > 0 {
            out.push_str(if i == last { ", and " } else { ", " });
        }
        let _ = write!(out, "{} {r}", crate::catalog::article(r.kind.name));
    }
    out.push('.');
}

/// Appends "You are carrying a mug 1 (clean)." or "You are carrying nothing."
pub fn describe_inventory(world: &World, out: &mut String) {
    match world.held {
        None => out.push_str("You are carrying nothing."),
        Some(index) => {
            let object = &world.objects[index];
            let _ = write!(out, "You are carrying {} {object}", object.kind.article());
            if object.has_state() {
                out.push_str(" (");
                object.write_states(out);
                out.push(')');
            }
            out.push('.');
        }
    }
}

/// The observation's task line for `goal`, the task's [`TaskSpec::goal_text`].
pub fn task(goal: &str) -> String {
    format!("Your task is to: {goal}")
}

/// Writes the observation's situation text into `out` (cleared first): where
/// the agent is, what it sees, what it carries and the places it knows.
pub fn observation(spec: &TaskSpec, world: &World, out: &mut String) {
    out.clear();
    match world.agent {
        None => {
            let _ = write!(out, "You are in the middle of the {}.", spec.room.name);
        }
        Some(here) => {
            let _ = write!(
                out,
                "You are in the {}, at the {}. ",
                spec.room.name, world.receptacles[here]
            );
            describe_receptacle(world, here, out);
        }
    }
    out.push('\n');
    describe_inventory(world, out);
    out.push_str("\nKnown places: ");
    for (i, r) in world.receptacles.iter().enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        if r.searched {
            let _ = write!(out, "searched {r} with ");
            world.write_contents(i, out);
        } else if r.visited {
            let _ = write!(out, "closed {r}");
        } else {
            let _ = write!(out, "unvisited {r}");
        }
    }
    out.push('.');
}

#[cfg(test)]
mod tests {
    use derl_env_api::Split;

    use super::*;
    use crate::rng::Rng;
    use crate::task::{Difficulty, generate};
    use crate::world::Place;

    fn setup() -> (TaskSpec, World) {
        let spec = generate(Split::Train, 4, Difficulty::Normal);
        let world = World::populate(&spec, &mut Rng::from_parts(&[3]));
        (spec, world)
    }

    #[test]
    fn fresh_observation_lists_goal_place_inventory_and_unvisited_receptacles() {
        let (spec, world) = setup();
        let mut text = String::new();
        observation(&spec, &world, &mut text);
        assert_eq!(
            task(&spec.goal_text()),
            format!("Your task is to: {}", spec.goal_text())
        );
        assert!(!text.contains("Your task"));
        assert!(text.contains("You are in the middle of the"));
        assert!(text.contains("You are carrying nothing."));
        assert_eq!(text.matches("unvisited ").count(), world.receptacles.len());
    }

    #[test]
    fn searched_receptacles_show_their_contents() {
        let (spec, mut world) = setup();
        world.agent = Some(0);
        world.receptacles[0].open = true;
        world.notice_surroundings();
        world.objects[0].place = Place::In(0);
        let mut text = String::new();
        observation(&spec, &world, &mut text);
        let expected = format!("searched {} with ", world.receptacles[0]);
        assert!(text.contains(&expected), "{text}");
        assert!(text.contains(&world.objects[0].to_string()));
        assert!(text.contains(&format!("at the {}. ", world.receptacles[0])));
    }

    #[test]
    fn closed_receptacle_and_inventory_descriptions() {
        let (_, mut world) = setup();
        let closed = world
            .receptacles
            .iter()
            .position(|r| r.kind.openable)
            .unwrap();
        let mut text = String::new();
        describe_receptacle(&world, closed, &mut text);
        assert_eq!(
            text,
            format!("The {} is closed.", world.receptacles[closed])
        );
        world.objects[0].place = Place::Held;
        world.objects[0].hot = true;
        world.held = Some(0);
        text.clear();
        describe_inventory(&world, &mut text);
        assert!(text.ends_with(" (hot)."), "{text}");
    }
}
