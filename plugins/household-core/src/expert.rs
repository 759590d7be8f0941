//! The scripted solver: a privileged planner that knows where every object
//! is and takes the next step of the shortest obvious plan.
//!
//! With empty hands it fetches the cheapest goal object still needed (one
//! not already counted in the target); holding a needed object it applies
//! the missing transforms at their appliances, then brings the object to
//! the target (opening it if needed) or to the lamp (switching it on).
//! Holding anything else (after another policy's moves) it first puts it
//! down. It works from any state, so it can take over mid-episode.

use crate::actions::Action;
use crate::progress::qualifies;
use crate::task::{Destination, TaskSpec};
use crate::world::{Place, World};

/// The expert's next action in `world`.
pub fn next_action(spec: &TaskSpec, world: &World) -> Action {
    match world.held {
        Some(object) if is_needed(spec, world, object) => deliver(spec, world, object),
        Some(object) => put_down(world, object),
        None => match cheapest_needed(spec, world) {
            Some(object) => fetch(world, object),
            None => Action::Look,
        },
    }
}

/// Goal objects already counted in the target, at most the required number.
fn counted(spec: &TaskSpec, world: &World) -> Vec<usize> {
    let Destination::Receptacle(target) = spec.goal.destination else {
        return Vec::new();
    };
    (0..world.objects.len())
        .filter(|&i| {
            world.objects[i].place == Place::In(target) && qualifies(spec, &world.objects[i])
        })
        .take(spec.goal.count)
        .collect()
}

/// Whether `object` is a goal object that still has to be delivered.
fn is_needed(spec: &TaskSpec, world: &World, object: usize) -> bool {
    world.objects[object].kind == spec.goal.object && !counted(spec, world).contains(&object)
}

/// The goal object to fetch next: not yet counted, cheapest to reach
/// (already here, then accessible, then behind a door), lowest index first.
fn cheapest_needed(spec: &TaskSpec, world: &World) -> Option<usize> {
    let counted = counted(spec, world);
    (0..world.objects.len())
        .filter(|&i| world.objects[i].kind == spec.goal.object && !counted.contains(&i))
        .filter_map(|i| match world.objects[i].place {
            Place::In(at) => {
                let cost = usize::from(world.agent != Some(at))
                    + usize::from(!world.receptacles[at].accessible());
                Some((cost, i))
            }
            Place::Held => None,
        })
        .min()
        .map(|(_, i)| i)
}

/// Walks to `object`, opens its receptacle if needed, takes it.
fn fetch(world: &World, object: usize) -> Action {
    let Place::In(at) = world.objects[object].place else {
        return Action::Look;
    };
    if world.agent != Some(at) {
        Action::GoTo(at)
    } else if !world.receptacles[at].accessible() {
        Action::Open(at)
    } else {
        Action::Take { object, from: at }
    }
}

/// Applies the first missing transform, then brings the held goal object to
/// its destination.
fn deliver(spec: &TaskSpec, world: &World, object: usize) -> Action {
    let missing = spec
        .goal
        .transforms
        .iter()
        .copied()
        .find(|&t| !world.objects[object].has(t));
    if let Some(transform) = missing {
        let Some(appliance) = world
            .receptacles
            .iter()
            .position(|r| r.kind.appliance == Some(transform))
        else {
            return Action::Look;
        };
        return if world.agent == Some(appliance) {
            Action::Apply {
                transform,
                object,
                appliance,
            }
        } else {
            Action::GoTo(appliance)
        };
    }
    match spec.goal.destination {
        Destination::Lamp => match &world.lamp {
            Some(lamp) if world.agent == Some(lamp.host) => Action::UseLamp,
            Some(lamp) => Action::GoTo(lamp.host),
            None => Action::Look,
        },
        Destination::Receptacle(target) => {
            if world.agent != Some(target) {
                Action::GoTo(target)
            } else if !world.receptacles[target].accessible() {
                Action::Open(target)
            } else {
                Action::Put {
                    object,
                    into: target,
                }
            }
        }
    }
}

/// Puts a useless held object down here, or at the first receptacle without
/// a door.
fn put_down(world: &World, object: usize) -> Action {
    match world.agent {
        Some(here) if world.receptacles[here].accessible() => Action::Put { object, into: here },
        Some(here) if world.receptacles[here].kind.openable => Action::Open(here),
        _ => {
            let open_place = world.receptacles.iter().position(|r| !r.kind.openable);
            Action::GoTo(open_place.unwrap_or(0))
        }
    }
}
