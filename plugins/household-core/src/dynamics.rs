//! What each action does to the world, and the feedback it gives.
//!
//! Only the agent moves things, so the contents the agent has seen stay true
//! until it changes them itself. Admissible actions that change nothing
//! (cleaning a clean mug, heating a cellphone) answer "Nothing happens.".

use std::fmt::Write as _;

use crate::actions::Action;
use crate::catalog::Transform;
use crate::render::{describe_inventory, describe_receptacle, describe_room};
use crate::task::TaskSpec;
use crate::world::{Place, World};

/// Feedback of admissible actions that change nothing.
pub const NOTHING_HAPPENS: &str = "Nothing happens.";

/// Applies an admissible `action`, writes its feedback into `feedback`
/// (cleared first) and returns whether the world changed.
pub fn apply(spec: &TaskSpec, world: &mut World, action: Action, feedback: &mut String) -> bool {
    feedback.clear();
    match action {
        Action::GoTo(to) => {
            world.agent = Some(to);
            world.notice_surroundings();
            let _ = write!(feedback, "You arrive at {}. ", world.receptacles[to]);
            describe_receptacle(world, to, feedback);
            true
        }
        Action::Open(at) => {
            world.receptacles[at].open = true;
            world.notice_surroundings();
            let _ = write!(feedback, "You open the {}. ", world.receptacles[at]);
            describe_receptacle(world, at, feedback);
            true
        }
        Action::Close(at) => {
            world.receptacles[at].open = false;
            let _ = write!(feedback, "You close the {}.", world.receptacles[at]);
            true
        }
        Action::Take { object, from } => {
            world.objects[object].place = Place::Held;
            world.held = Some(object);
            let _ = write!(
                feedback,
                "You pick up the {} from the {}.",
                world.objects[object], world.receptacles[from]
            );
            true
        }
        Action::Put { object, into } => {
            world.objects[object].place = Place::In(into);
            world.held = None;
            let _ = write!(
                feedback,
                "You put the {} in/on the {}.",
                world.objects[object], world.receptacles[into]
            );
            true
        }
        Action::Apply {
            transform,
            object,
            appliance,
        } => {
            let target = &mut world.objects[object];
            let changed = target.kind.accepts(transform)
                && match transform {
                    Transform::Clean => !std::mem::replace(&mut target.clean, true),
                    Transform::Heat => {
                        let was_hot = std::mem::replace(&mut target.hot, true);
                        target.cold = false;
                        !was_hot
                    }
                    Transform::Cool => {
                        let was_cold = std::mem::replace(&mut target.cold, true);
                        target.hot = false;
                        !was_cold
                    }
                };
            if changed {
                let _ = write!(
                    feedback,
                    "You {} the {} using the {}.",
                    transform.verb(),
                    world.objects[object],
                    world.receptacles[appliance]
                );
            } else {
                feedback.push_str(NOTHING_HAPPENS);
            }
            changed
        }
        Action::UseLamp => match world.lamp.as_mut() {
            Some(lamp) => {
                lamp.on = !lamp.on;
                let state = if lamp.on { "on" } else { "off" };
                let _ = write!(feedback, "You turn {state} the {lamp}.");
                true
            }
            None => {
                feedback.push_str(NOTHING_HAPPENS);
                false
            }
        },
        Action::ExamineReceptacle(at) => {
            describe_receptacle(world, at, feedback);
            false
        }
        Action::ExamineObject(index) => {
            let object = &world.objects[index];
            if object.has_state() {
                let _ = write!(feedback, "The {object} is ");
                object.write_states(feedback);
                feedback.push('.');
            } else {
                let _ = write!(feedback, "There's nothing special about {object}.");
            }
            false
        }
        Action::Look => {
            match world.agent {
                None => describe_room(spec, world, feedback),
                Some(here) => {
                    let _ = write!(feedback, "You are facing the {}. ", world.receptacles[here]);
                    describe_receptacle(world, here, feedback);
                }
            }
            false
        }
        Action::Inventory => {
            describe_inventory(world, feedback);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use derl_env_api::Split;

    use super::*;
    use crate::actions::parse;
    use crate::rng::Rng;
    use crate::task::{Difficulty, generate};

    fn kitchen() -> (TaskSpec, World) {
        let index = (0..)
            .find(|&i| generate(Split::Train, i, Difficulty::Normal).room.name == "kitchen")
            .unwrap();
        let spec = generate(Split::Train, index, Difficulty::Normal);
        let world = World::populate(&spec, &mut Rng::from_parts(&[4]));
        (spec, world)
    }

    fn run(spec: &TaskSpec, world: &mut World, command: &str) -> (String, bool) {
        let action = parse(world, command).unwrap_or_else(|| panic!("`{command}` not admissible"));
        let mut feedback = String::new();
        let changed = apply(spec, world, action, &mut feedback);
        (feedback, changed)
    }

    #[test]
    fn open_take_heat_put_chain() {
        let (spec, mut world) = kitchen();
        let fridge = world
            .receptacles
            .iter()
            .position(|r| r.kind.name == "fridge")
            .unwrap();
        let apple = world
            .objects
            .iter()
            .position(|o| o.kind.accepts(Transform::Heat))
            .unwrap();
        world.objects[apple].place = Place::In(fridge);
        let name = world.objects[apple].to_string();

        let (text, changed) = run(&spec, &mut world, "go to fridge 1");
        assert_eq!(text, "You arrive at fridge 1. The fridge 1 is closed.");
        assert!(
            changed && world.receptacles[fridge].visited && !world.receptacles[fridge].searched
        );
        let (text, _) = run(&spec, &mut world, "open fridge 1");
        assert!(text.starts_with("You open the fridge 1. The fridge 1 is open. In it, you see"));
        assert!(text.contains(&name) && world.receptacles[fridge].searched);
        run(&spec, &mut world, &format!("take {name} from fridge 1"));
        assert_eq!(world.held, Some(apple));
        run(&spec, &mut world, "go to microwave 1");
        let (text, changed) = run(&spec, &mut world, &format!("heat {name} with microwave 1"));
        assert!(changed, "{text}");
        assert!(world.objects[apple].hot);
        let (text, changed) = run(&spec, &mut world, &format!("heat {name} with microwave 1"));
        assert_eq!((text.as_str(), changed), (NOTHING_HAPPENS, false));
        run(&spec, &mut world, "go to fridge 1");
        run(&spec, &mut world, &format!("cool {name} with fridge 1"));
        assert!(world.objects[apple].cold && !world.objects[apple].hot);
        let (text, _) = run(&spec, &mut world, &format!("put {name} in/on fridge 1"));
        assert_eq!(text, format!("You put the {name} in/on the fridge 1."));
        assert_eq!(
            (world.held, world.objects[apple].place),
            (None, Place::In(fridge))
        );
    }

    #[test]
    fn transforms_without_effect_change_nothing() {
        let (spec, mut world) = kitchen();
        let sink = world
            .receptacles
            .iter()
            .position(|r| r.kind.name == "sinkbasin")
            .unwrap();
        let Some(card) = world
            .objects
            .iter()
            .position(|o| o.kind.transforms.is_empty())
        else {
            return;
        };
        world.objects[card].place = Place::Held;
        world.held = Some(card);
        world.agent = Some(sink);
        let before = world.clone();
        let name = world.objects[card].to_string();
        let (text, changed) = run(&spec, &mut world, &format!("clean {name} with sinkbasin 1"));
        assert_eq!((text.as_str(), changed), (NOTHING_HAPPENS, false));
        assert_eq!(world, before);
    }

    #[test]
    fn informational_actions_never_change_the_world() {
        let (spec, mut world) = kitchen();
        let before = world.clone();
        let (text, changed) = run(&spec, &mut world, "look");
        assert!(!changed && text.starts_with("You are in the middle of the kitchen."));
        let (text, changed) = run(&spec, &mut world, "inventory");
        assert_eq!(
            (text.as_str(), changed),
            ("You are carrying nothing.", false)
        );
        assert_eq!(world, before);
    }
}
