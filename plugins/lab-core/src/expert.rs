//! The scripted solver: reads the true world state and returns the next
//! action of a shortest-ish plan for the goal.
//!
//! It re-plans from the state at every step, so it needs no memory, and it
//! looks ahead by simulating ticks on a copy of the world to wait exactly as
//! long as needed (a melted substance left on the stove would boil away).

use crate::actions::Action;
use crate::circuit::{Pole, Source};
use crate::goal::{Goal, Phase};
use crate::world::{Kind, Matter, ObjectId, Place, Room, World};

/// The expert's next action, or `None` when it has no plan (never, from a
/// state reached by following it from a reset).
pub fn next_action(world: &World, goal: &Goal) -> Option<Action> {
    if let Some(done) = goal.targets(world).find(|&x| goal.is_done(world, x)) {
        return Some(reach(world, done).unwrap_or(Action::Focus(done)));
    }
    match *goal {
        Goal::ChangeState {
            phase: Phase::Freeze,
            ..
        } => freeze(world, goal),
        Goal::ChangeState { phase, .. } => heat(world, goal, phase),
        Goal::Measure { .. } => measure(world, goal),
        Goal::Grow { .. } => grow(world, goal),
        Goal::Power { device, switch } => power(world, device, switch),
    }
}

/// A step towards `room`, or `None` when the agent is there.
fn go_towards(world: &World, room: Room) -> Option<Action> {
    if world.agent == room {
        None
    } else if world.agent == Room::Hallway {
        Some(Action::Go(room))
    } else {
        Some(Action::Go(Room::Hallway))
    }
}

/// A step towards seeing `id`, or `None` when it is visible.
fn reach(world: &World, id: ObjectId) -> Option<Action> {
    if world.is_visible(id) {
        None
    } else {
        go_towards(world, world.room_of(id))
    }
}

/// A step towards carrying `id` at top level, or `None` when it is.
fn carry(world: &World, id: ObjectId) -> Option<Action> {
    if world.objects[id].place == Place::Carried {
        None
    } else {
        Some(reach(world, id).unwrap_or(Action::PickUp(id)))
    }
}

/// Moves between rooms needed to reach `id` (0 when visible).
fn distance(world: &World, id: ObjectId) -> u32 {
    if world.is_visible(id) {
        0
    } else if world.agent == Room::Hallway || world.room_of(id) == Room::Hallway {
        1
    } else {
        2
    }
}

/// The nearest object passing `test`.
fn nearest(world: &World, test: impl Fn(ObjectId) -> bool) -> Option<ObjectId> {
    world
        .ids()
        .filter(|&o| test(o))
        .min_by_key(|&o| distance(world, o))
}

fn find_kind(world: &World, test: impl Fn(&Kind) -> bool) -> Option<ObjectId> {
    world.ids().find(|&o| test(&world.objects[o].kind))
}

/// Waits for the goal: as long as is safe, judged by simulating a copy.
fn wait_for(world: &World, goal: &Goal, overshoot_is_safe: bool) -> Action {
    let mut future = world.clone();
    for tick in 1..=5 {
        future.tick();
        if goal.targets(&future).any(|x| goal.is_done(&future, x)) {
            return if overshoot_is_safe || tick == 5 {
                Action::Wait(5)
            } else {
                Action::Wait(1)
            };
        }
    }
    Action::Wait(5)
}

/// Steps to fill `vessel` at the kitchen sink.
fn fill_at_sink(world: &World, vessel: ObjectId) -> Option<Action> {
    let sink = find_kind(world, |k| matches!(k, Kind::Sink { .. }))?;
    if world.objects[vessel].place == Place::In(sink) {
        return Some(
            go_towards(world, Room::Kitchen).unwrap_or(match world.objects[sink].kind {
                Kind::Sink { on: false } => Action::TurnOn(sink),
                _ => Action::Wait(1),
            }),
        );
    }
    carry(world, vessel)
        .or_else(|| go_towards(world, Room::Kitchen))
        .or(Some(Action::Put(vessel, sink)))
}

fn empty_container(world: &World, heatproof_only: bool) -> Option<ObjectId> {
    nearest(world, |o| match world.objects[o].kind {
        Kind::Container { heatproof } => {
            (heatproof || !heatproof_only) && world.children(o).next().is_none()
        }
        _ => false,
    })
}

fn freeze(world: &World, goal: &Goal) -> Option<Action> {
    let freezer = find_kind(
        world,
        |k| matches!(k, Kind::Cooler { target, .. } if *target < 0),
    )?;
    let Some(x) = goal.targets(world).next() else {
        return fill_at_sink(world, empty_container(world, false)?);
    };
    if crate::goal::in_freezer(world, x) {
        return Some(wait_for(world, goal, true));
    }
    let carrier = world.carrier(x)?;
    carry(world, carrier)
        .or_else(|| go_towards(world, Room::Kitchen))
        .or(Some(Action::Put(carrier, freezer)))
}

fn heat(world: &World, goal: &Goal, phase: Phase) -> Option<Action> {
    let stove = find_kind(world, |k| matches!(k, Kind::Stove { .. }))?;
    let heatproof_parent = |x: ObjectId| {
        world
            .parent(x)
            .filter(|&p| world.objects[p].kind == Kind::Container { heatproof: true })
    };
    let targets: Vec<ObjectId> = goal.targets(world).collect();
    let Some(&x) = targets
        .iter()
        .find(|&&x| heatproof_parent(x).is_some())
        .or(targets.first())
    else {
        return fill_at_sink(world, empty_container(world, true)?);
    };
    let Some(pot) = heatproof_parent(x) else {
        let pot = empty_container(world, true)?;
        if let Some(step) = carry(world, pot) {
            return Some(step);
        }
        return if world.matter(x) == Some(Matter::Solid) {
            carry(world, x).or(Some(Action::Put(x, pot)))
        } else {
            let holder = world.carrier(x)?;
            carry(world, holder).or(Some(Action::Pour(holder, pot)))
        };
    };
    if world.objects[pot].place != Place::In(stove) {
        return carry(world, pot)
            .or_else(|| go_towards(world, Room::Kitchen))
            .or(Some(Action::Put(pot, stove)));
    }
    if let Kind::Stove { on: false, .. } = world.objects[stove].kind {
        return Some(go_towards(world, Room::Kitchen).unwrap_or(Action::TurnOn(stove)));
    }
    Some(
        go_towards(world, Room::Kitchen)
            .unwrap_or_else(|| wait_for(world, goal, phase == Phase::Boil)),
    )
}

fn measure(world: &World, goal: &Goal) -> Option<Action> {
    let x = goal.targets(world).next()?;
    let Some(target_box) = goal.correct_box(world, x) else {
        let thermometer = nearest(world, |o| world.objects[o].kind == Kind::Thermometer)?;
        return carry(world, thermometer)
            .or_else(|| reach(world, x))
            .or(Some(Action::Measure(x)));
    };
    let carrier = world.carrier(x)?;
    carry(world, carrier)
        .or_else(|| reach(world, target_box))
        .or(Some(Action::Put(carrier, target_box)))
}

fn grow(world: &World, goal: &Goal) -> Option<Action> {
    let Goal::Grow { species, .. } = *goal else {
        return None;
    };
    let pot = find_kind(world, |k| matches!(k, Kind::FlowerPot { .. }))?;
    let named = |o: ObjectId| world.objects[o].name.as_str();
    let plant = world
        .ids()
        .find(|&o| matches!(world.objects[o].kind, Kind::Plant { .. }) && named(o) == species);
    let Some(plant) = plant else {
        let soil_in_pot = world
            .children(pot)
            .any(|c| world.objects[c].kind == Kind::Soil);
        let item = if soil_in_pot {
            world.ids().find(
                |&o| matches!(world.objects[o].kind, Kind::Seeds { species: s } if s == species),
            )?
        } else {
            nearest(world, |o| {
                world.objects[o].kind == Kind::Soil && world.is_portable(o)
            })?
        };
        return carry(world, item)
            .or_else(|| reach(world, pot))
            .or(Some(Action::Put(item, pot)));
    };
    let pot = world.parent(plant)?;
    let moisture = match world.objects[pot].kind {
        Kind::FlowerPot { moisture } => moisture,
        _ => 0,
    };
    let mut future = world.clone();
    let grows_in_time = (1..=5).any(|_| {
        future.tick();
        goal.is_done(&future, plant)
    });
    if grows_in_time || moisture >= 5 {
        return Some(reach(world, pot).unwrap_or(Action::Wait(5)));
    }
    let can = find_kind(world, |k| matches!(k, Kind::WateringCan { .. }))?;
    if world.objects[can].kind == (Kind::WateringCan { full: false }) {
        return fill_at_sink(world, can);
    }
    carry(world, can)
        .or_else(|| reach(world, pot))
        .or(Some(Action::Water(pot)))
}

fn power(world: &World, device: ObjectId, switch: Option<ObjectId>) -> Option<Action> {
    let needed: Vec<(Source, ObjectId)> = match switch {
        None => vec![
            (Source::Pole(Pole::Anode), device),
            (Source::Pole(Pole::Cathode), device),
        ],
        Some(s) => vec![
            (Source::Pole(Pole::Anode), s),
            (Source::Switch(s), device),
            (Source::Pole(Pole::Cathode), device),
        ],
    };
    let missing: Vec<(Source, ObjectId)> = needed
        .into_iter()
        .filter(|&(source, part)| !world.wiring.iter().any(|c| c.joins(source, part)))
        .collect();
    let is_wire = |o: ObjectId| world.objects[o].kind == Kind::Wire;
    let carried_wires = world
        .ids()
        .filter(|&o| is_wire(o) && world.objects[o].place == Place::Carried)
        .count();
    if carried_wires < missing.len() {
        let wire = nearest(world, |o| {
            is_wire(o) && world.is_portable(o) && world.objects[o].place != Place::Carried
        })?;
        return carry(world, wire);
    }
    if let Some(&(source, part)) = missing.first() {
        return Some(reach(world, part).unwrap_or(Action::Connect(source, part)));
    }
    match switch {
        Some(s) if world.objects[s].kind == (Kind::Switch { on: false }) => {
            Some(reach(world, s).unwrap_or(Action::TurnOn(s)))
        }
        _ => Some(Action::Wait(1)),
    }
}
