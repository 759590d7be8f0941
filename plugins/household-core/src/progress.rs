//! Goal checking and sub-goal accounting.
//!
//! Sub-goals (milestones) per task:
//! - placing goals: the goal object was found (seen), then for each of the
//!   `count` objects: taken, each required transform applied, brought to the
//!   target (held there once every transform is applied), placed in the
//!   target. `1 + count * (3 + transforms)` milestones.
//! - the lamp goal: found, taken, each transform, brought to the lamp (held
//!   at its receptacle), lamp switched on while holding it. `4 + transforms`.
//!
//! The reached count is read off the current state (objects correctly
//! placed, the held object's states); `progress` keeps its maximum over the
//! episode, so undoing work does not lose credit already earned.

use crate::task::{Destination, TaskSpec};
use crate::world::{Object, Place, World};

/// Whether `object` is a goal object in every required state.
pub fn qualifies(spec: &TaskSpec, object: &Object) -> bool {
    object.kind == spec.goal.object
        && spec
            .goal
            .satisfied_by(object.clean, object.hot, object.cold)
}

/// Goal objects correctly placed in the target (the lamp goal has none).
pub fn placed(spec: &TaskSpec, world: &World) -> usize {
    match spec.goal.destination {
        Destination::Lamp => 0,
        Destination::Receptacle(target) => world
            .objects
            .iter()
            .filter(|o| o.place == Place::In(target) && qualifies(spec, o))
            .count(),
    }
}

/// Whether the task is accomplished in `world`.
pub fn is_success(spec: &TaskSpec, world: &World) -> bool {
    match spec.goal.destination {
        Destination::Receptacle(_) => placed(spec, world) >= spec.goal.count,
        Destination::Lamp => {
            world.at_lamp()
                && world.lamp.as_ref().is_some_and(|lamp| lamp.on)
                && world
                    .held
                    .is_some_and(|o| qualifies(spec, &world.objects[o]))
        }
    }
}

/// Number of milestones of the task.
pub fn total_milestones(spec: &TaskSpec) -> usize {
    let transforms = spec.goal.transforms.len();
    match spec.goal.destination {
        Destination::Receptacle(_) => 1 + spec.goal.count * (3 + transforms),
        Destination::Lamp => 4 + transforms,
    }
}

/// Milestones reached in the current state; `found` says whether a goal
/// object has been seen so far.
pub fn reached_milestones(spec: &TaskSpec, world: &World, found: bool) -> usize {
    let goal = &spec.goal;
    let per_object = 3 + goal.transforms.len();
    let held_goal = world
        .held
        .map(|o| &world.objects[o])
        .filter(|o| o.kind == goal.object);
    let held_credit = |object: &Object| {
        let done = goal.transforms.iter().filter(|&&t| object.has(t)).count();
        1 + done
    };
    let mut reached = usize::from(found);
    match goal.destination {
        Destination::Receptacle(target) => {
            let placed = placed(spec, world).min(goal.count);
            reached += placed * per_object;
            if placed < goal.count
                && let Some(object) = held_goal
            {
                let ready = goal.transforms.iter().all(|&t| object.has(t));
                reached += held_credit(object) + usize::from(ready && world.agent == Some(target));
            }
        }
        Destination::Lamp => {
            if let Some(object) = held_goal {
                reached += held_credit(object) + usize::from(world.at_lamp());
            }
            reached += usize::from(is_success(spec, world));
        }
    }
    reached
}

/// Whether a goal object is visible to the agent or held.
pub fn goal_object_in_view(spec: &TaskSpec, world: &World) -> bool {
    let kind = spec.goal.object;
    let held = world.held.is_some_and(|o| world.objects[o].kind == kind);
    let here = world.agent.is_some_and(|here| {
        world.receptacles[here].accessible()
            && world.contents(here).any(|o| world.objects[o].kind == kind)
    });
    held || here
}

#[cfg(test)]
mod tests {
    use derl_env_api::Split;

    use super::*;
    use crate::rng::Rng;
    use crate::task::{Difficulty, Family, generate};

    fn task(family: Family) -> (TaskSpec, World) {
        let spec = (0..)
            .map(|i| generate(Split::Train, i, Difficulty::Normal))
            .find(|spec| spec.family == family)
            .unwrap();
        let world = World::populate(&spec, &mut Rng::from_parts(&[2]));
        (spec, world)
    }

    fn goal_objects(spec: &TaskSpec, world: &World) -> Vec<usize> {
        (0..world.objects.len())
            .filter(|&i| world.objects[i].kind == spec.goal.object)
            .collect()
    }

    #[test]
    fn clean_and_place_milestones_count_up_to_success() {
        let (spec, mut world) = task(Family::CleanAndPlace);
        let Destination::Receptacle(target) = spec.goal.destination else {
            unreachable!()
        };
        assert_eq!(total_milestones(&spec), 5);
        assert_eq!(reached_milestones(&spec, &world, false), 0);
        assert_eq!(reached_milestones(&spec, &world, true), 1);
        let object = goal_objects(&spec, &world)[0];
        world.objects[object].place = Place::Held;
        world.held = Some(object);
        assert!(goal_object_in_view(&spec, &world));
        assert_eq!(reached_milestones(&spec, &world, true), 2);
        world.agent = Some(target);
        assert_eq!(
            reached_milestones(&spec, &world, true),
            2,
            "not clean yet: not brought"
        );
        world.objects[object].clean = true;
        assert_eq!(reached_milestones(&spec, &world, true), 4);
        world.agent = None;
        assert_eq!(reached_milestones(&spec, &world, true), 3);
        world.objects[object].place = Place::In(target);
        world.held = None;
        assert!(is_success(&spec, &world));
        assert_eq!(reached_milestones(&spec, &world, true), 5);
    }

    #[test]
    fn unclean_object_in_target_earns_nothing() {
        let (spec, mut world) = task(Family::CleanAndPlace);
        let Destination::Receptacle(target) = spec.goal.destination else {
            unreachable!()
        };
        let object = goal_objects(&spec, &world)[0];
        world.objects[object].place = Place::In(target);
        assert!(!is_success(&spec, &world));
        assert_eq!(reached_milestones(&spec, &world, true), 1);
    }

    #[test]
    fn pick_two_needs_both_objects() {
        let (spec, mut world) = task(Family::PickTwoAndPlace);
        let Destination::Receptacle(target) = spec.goal.destination else {
            unreachable!()
        };
        assert_eq!(total_milestones(&spec), 7);
        let objects = goal_objects(&spec, &world);
        world.objects[objects[0]].place = Place::In(target);
        assert!(!is_success(&spec, &world));
        assert_eq!(reached_milestones(&spec, &world, true), 4);
        world.objects[objects[1]].place = Place::Held;
        world.held = Some(objects[1]);
        assert_eq!(reached_milestones(&spec, &world, true), 5);
        world.agent = Some(target);
        assert_eq!(reached_milestones(&spec, &world, true), 6);
        world.objects[objects[1]].place = Place::In(target);
        world.held = None;
        assert!(is_success(&spec, &world));
        assert_eq!(reached_milestones(&spec, &world, true), 7);
    }

    #[test]
    fn lamp_goal_needs_holding_at_the_lit_lamp() {
        let (spec, mut world) = task(Family::ExamineInLight);
        let host = spec.lamp.unwrap().host;
        let object = goal_objects(&spec, &world)[0];
        world.objects[object].place = Place::Held;
        world.held = Some(object);
        assert_eq!(reached_milestones(&spec, &world, true), 2);
        world.agent = Some(host);
        assert_eq!(reached_milestones(&spec, &world, true), 3);
        assert!(!is_success(&spec, &world));
        world.lamp.as_mut().unwrap().on = true;
        assert!(is_success(&spec, &world));
        assert_eq!(
            reached_milestones(&spec, &world, true),
            total_milestones(&spec)
        );
    }
}
