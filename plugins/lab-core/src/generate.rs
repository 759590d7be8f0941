//! Builds an episode's world from a task and a seed.
//!
//! The task decides the objects that matter and where they start; the seed
//! decides rates (stove power, growth speed, how long soil stays wet), the
//! names of incidental containers and the distractors lying around.

use crate::catalog::{Vocabulary, substance};
use crate::goal::Goal;
use crate::rng::Rng;
use crate::tasks::{
    FREEZER, FRIDGE, GrowTask, MeasureTask, PowerTask, Spot, Start, StateChangeTask, Task, TaskKind,
};
use crate::world::{Kind, ObjectId, Physics, Place, Room, World};

/// Fixed kitchen appliances, by id.
struct Kitchen {
    fridge: ObjectId,
    freezer: ObjectId,
}

/// Builds the world and goal of `task` for `seed`.
pub fn generate(task: &Task, rng: &mut Rng) -> (World, Goal) {
    let vocabulary = task.vocabulary();
    let mut rooms = vec![
        Room::Hallway,
        Room::Kitchen,
        Room::Workshop,
        Room::Greenhouse,
    ];
    if task.ood {
        rooms.push(Room::Storage);
    }
    let physics = Physics {
        ticks_per_stage: rng.between(2, 3) as u32,
        moisture_ticks: rng.between(5, 7) as u32,
    };
    let mut world = World::new(rooms, task.start, physics);
    let kitchen = add_kitchen(&mut world, rng);
    let goal = match task.kind {
        TaskKind::StateChange(t) => state_change(&mut world, &kitchen, vocabulary, &t, rng),
        TaskKind::Measure(t) => measure(&mut world, &kitchen, vocabulary, &t, rng),
        TaskKind::Grow(t) => grow(&mut world, vocabulary, &t),
        TaskKind::Power(t) => power(&mut world, vocabulary, &t),
    };
    add_distractors(&mut world, vocabulary, &task.kind, rng);
    (world, goal)
}

fn add_kitchen(world: &mut World, rng: &mut Rng) -> Kitchen {
    let here = Place::Room(Room::Kitchen);
    world.add(
        "stove",
        Kind::Stove {
            on: false,
            rate: rng.between(12, 24),
        },
        here,
    );
    world.add("sink", Kind::Sink { on: false }, here);
    let freezer = world.add(
        "freezer",
        Kind::Cooler {
            target: FREEZER,
            rate: 6,
        },
        here,
    );
    let fridge = world.add(
        "fridge",
        Kind::Cooler {
            target: FRIDGE,
            rate: 4,
        },
        here,
    );
    Kitchen { fridge, freezer }
}

fn place_of(spot: Spot, kitchen: &Kitchen) -> Place {
    match spot {
        Spot::Room(room) => Place::Room(room),
        Spot::Fridge => Place::In(kitchen.fridge),
        Spot::Freezer => Place::In(kitchen.freezer),
    }
}

/// A name from `names` that no object has yet (the first one if all are taken).
fn unused(world: &World, names: &[&'static str], rng: &mut Rng) -> &'static str {
    let free: Vec<&'static str> = names
        .iter()
        .copied()
        .filter(|n| world.find(n).is_none())
        .collect();
    if free.is_empty() {
        names[0]
    } else {
        rng.pick(&free)
    }
}

/// Adds the task's substance where it starts (tap water is not there yet).
fn add_substance(
    world: &mut World,
    kitchen: &Kitchen,
    vocabulary: &Vocabulary,
    name: &'static str,
    start: Start,
    rng: &mut Rng,
) {
    let physics = substance(name);
    let add = |world: &mut World, spot: Spot, place: Place| {
        world.add(
            name,
            Kind::Substance {
                melting: physics.melting,
                boiling: physics.boiling,
                temperature: spot.temperature(),
            },
            place,
        );
    };
    match start {
        Start::Tap => {}
        Start::Loose(spot) => add(world, spot, place_of(spot, kitchen)),
        Start::Held(spot) => {
            let holder_name = unused(world, vocabulary.cups, rng);
            let holder = world.add(
                holder_name,
                Kind::Container { heatproof: false },
                place_of(spot, kitchen),
            );
            add(world, spot, Place::In(holder));
        }
    }
}

fn state_change(
    world: &mut World,
    kitchen: &Kitchen,
    vocabulary: &Vocabulary,
    task: &StateChangeTask,
    rng: &mut Rng,
) -> Goal {
    let heatproof = vocabulary.pots.contains(&task.vessel);
    world.add(
        task.vessel,
        Kind::Container { heatproof },
        Place::Room(task.vessel_room),
    );
    // Freezing a liquid that already sits in a container leaves the vessel
    // as a decoy.
    add_substance(world, kitchen, vocabulary, task.substance, task.start, rng);
    Goal::ChangeState {
        phase: task.phase,
        substance: task.substance,
    }
}

fn measure(
    world: &mut World,
    kitchen: &Kitchen,
    vocabulary: &Vocabulary,
    task: &MeasureTask,
    rng: &mut Rng,
) -> Goal {
    add_substance(world, kitchen, vocabulary, task.substance, task.start, rng);
    world.add(
        "thermometer",
        Kind::Thermometer,
        Place::Room(task.thermometer_room),
    );
    let boxes = Place::Room(task.box_room);
    let mut above = world.add(format!("{} box", task.above), Kind::Box, boxes);
    let mut below = world.add(format!("{} box", task.below), Kind::Box, boxes);
    if rng.chance(1, 2) {
        // Which box stands first in the room is incidental.
        world.objects.swap(above, below);
        std::mem::swap(&mut above, &mut below);
    }
    Goal::Measure {
        substance: task.substance,
        threshold: task.threshold,
        above,
        below,
    }
}

fn grow(world: &mut World, vocabulary: &Vocabulary, task: &GrowTask) -> Goal {
    world.add(
        vocabulary.flower_pot,
        Kind::FlowerPot { moisture: 0 },
        Place::Room(Room::Greenhouse),
    );
    world.add("soil", Kind::Soil, Place::Room(task.soil_room));
    world.add(
        format!("{} seeds", task.species),
        Kind::Seeds {
            species: task.species,
        },
        Place::Room(task.seeds_room),
    );
    if let Some(decoy) = task.decoy {
        world.add(
            format!("{decoy} seeds"),
            Kind::Seeds { species: decoy },
            Place::Room(Room::Greenhouse),
        );
    }
    world.add(
        "watering can",
        Kind::WateringCan {
            full: task.can_full,
        },
        Place::Room(task.can_room),
    );
    Goal::Grow {
        species: task.species,
        stage: task.stage,
    }
}

fn power(world: &mut World, vocabulary: &Vocabulary, task: &PowerTask) -> Goal {
    let bench = Place::Room(Room::Workshop);
    world.add("battery", Kind::Battery, bench);
    let switch = task
        .switch
        .then(|| world.add("switch", Kind::Switch { on: false }, bench));
    let mut device = None;
    for (i, d) in vocabulary.devices.iter().enumerate() {
        if *d == task.device || task.decoys & (1 << i) != 0 {
            let id = world.add(
                d.name,
                Kind::Device {
                    on: d.on,
                    off: d.off,
                },
                bench,
            );
            if *d == task.device {
                device = Some(id);
            }
        }
    }
    let needed = if task.switch { 3 } else { 2 };
    for (name, room) in vocabulary.wires.iter().zip(task.wire_rooms).take(needed) {
        world.add(*name, Kind::Wire, Place::Room(room));
    }
    if let Some(room) = task.spare {
        world.add(vocabulary.wires[needed], Kind::Wire, Place::Room(room));
    }
    Goal::Power {
        device: device.expect("the task's device is in its vocabulary"),
        switch,
    }
}

/// Adds things that play no part in the task: the usual furniture of the
/// other families (each with even odds) and one or two trinkets.
fn add_distractors(world: &mut World, vocabulary: &Vocabulary, kind: &TaskKind, rng: &mut Rng) {
    let rooms: Vec<Room> = world.rooms.clone();
    if !matches!(kind, TaskKind::Measure(_))
        && world.find("thermometer").is_none()
        && rng.chance(1, 2)
    {
        let room = rng.pick(&rooms);
        world.add("thermometer", Kind::Thermometer, Place::Room(room));
    }
    if !matches!(kind, TaskKind::Power(_)) {
        world.add("battery", Kind::Battery, Place::Room(Room::Workshop));
        if rng.chance(1, 2) {
            let d = rng.pick(vocabulary.devices);
            world.add(
                d.name,
                Kind::Device {
                    on: d.on,
                    off: d.off,
                },
                Place::Room(Room::Workshop),
            );
        }
        if rng.chance(1, 3) {
            world.add(vocabulary.wires[0], Kind::Wire, Place::Room(Room::Workshop));
        }
    }
    if !matches!(kind, TaskKind::Grow(_)) && rng.chance(1, 2) {
        world.add(
            vocabulary.flower_pot,
            Kind::FlowerPot { moisture: 0 },
            Place::Room(Room::Greenhouse),
        );
        let species = rng.pick(vocabulary.plants);
        world.add(
            format!("{species} seeds"),
            Kind::Seeds { species },
            Place::Room(Room::Greenhouse),
        );
    }
    if rng.chance(1, 2) {
        let name = unused(world, vocabulary.cups, rng);
        if world.find(name).is_none() {
            let room = rng.pick(&rooms);
            world.add(
                name,
                Kind::Container { heatproof: false },
                Place::Room(room),
            );
        }
    }
    for _ in 0..rng.between(1, 2) {
        let name = unused(world, vocabulary.trinkets, rng);
        if world.find(name).is_none() {
            let room = rng.pick(&rooms);
            world.add(name, Kind::Trinket, Place::Room(room));
        }
    }
}
