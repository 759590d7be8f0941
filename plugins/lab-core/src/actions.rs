//! The agent's actions: which are admissible in a state, how they read, and
//! what they do.
//!
//! Only actions that make sense are listed (you cannot put a glass jug on the
//! stove or connect a wire you do not carry), in a stable order: moves, pick
//! ups, puts, drops, pours, watering, switches, measurements, wiring, waits,
//! focus. A move names what lies in the room it leads to (the agent glances
//! through the door), so a policy without memory can tell where things are.

use crate::circuit::{self, Pole, Source};
use crate::world::{Kind, ObjectId, Place, Room, Stage, World};

/// One thing the agent can do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Walk to an adjacent room.
    Go(Room),
    /// Take a portable object.
    PickUp(ObjectId),
    /// Put a carried object in or on a receptacle.
    Put(ObjectId, ObjectId),
    /// Put a carried object down in the room.
    Drop(ObjectId),
    /// Pour the liquid from a carried container into an empty one.
    Pour(ObjectId, ObjectId),
    /// Water a flower pot from the carried watering can.
    Water(ObjectId),
    /// Switch an appliance or switch on.
    TurnOn(ObjectId),
    /// Switch an appliance or switch off.
    TurnOff(ObjectId),
    /// Read a substance's temperature with the carried thermometer.
    Measure(ObjectId),
    /// Join a battery pole or switch to a part with a carried wire.
    Connect(Source, ObjectId),
    /// Remove every wire from a part.
    Disconnect(ObjectId),
    /// Let ticks pass.
    Wait(u32),
    /// Declare the task done, about this object.
    Focus(ObjectId),
}

impl Action {
    /// The objects the action handles (for the exploration primitive).
    pub fn operands(self, world: &World) -> [Option<ObjectId>; 2] {
        match self {
            Action::PickUp(o)
            | Action::Drop(o)
            | Action::TurnOn(o)
            | Action::TurnOff(o)
            | Action::Disconnect(o) => [Some(o), None],
            Action::Put(a, b) | Action::Pour(a, b) => [Some(a), Some(b)],
            Action::Water(pot) => [
                Some(pot),
                carried(world, |k| matches!(k, Kind::WateringCan { .. })),
            ],
            Action::Measure(x) => [Some(x), carried(world, |k| *k == Kind::Thermometer)],
            Action::Connect(source, part) => [
                Some(part),
                match source {
                    Source::Switch(s) => Some(s),
                    Source::Pole(_) => world
                        .ids()
                        .find(|&o| world.objects[o].kind == Kind::Battery && world.is_visible(o)),
                },
            ],
            Action::Go(_) | Action::Wait(_) | Action::Focus(_) => [None, None],
        }
    }

    /// Ticks of time the action takes.
    pub fn ticks(self) -> u32 {
        match self {
            Action::Wait(n) => n,
            _ => 1,
        }
    }

    /// The action in a few words, for the history: moves without the view
    /// through the door.
    pub fn summary(self, world: &World) -> String {
        match self {
            Action::Go(room) => format!("go to {}", room.name()),
            _ => self.text(world),
        }
    }

    /// The action as the agent reads it.
    pub fn text(self, world: &World) -> String {
        let label = |o: ObjectId| world.label(o);
        match self {
            Action::Go(room) => {
                let seen: Vec<String> = world
                    .ids()
                    .filter(|&o| world.root(o) == Place::Room(room))
                    .map(|o| world.label(o))
                    .collect();
                if seen.is_empty() {
                    format!("go to {}", room.name())
                } else {
                    format!("go to {} ({})", room.name(), seen.join(", "))
                }
            }
            Action::PickUp(o) => format!("pick up {}", label(o)),
            Action::Put(a, b) => {
                let preposition = if matches!(world.objects[b].kind, Kind::Stove { .. }) {
                    "on"
                } else {
                    "in"
                };
                format!("put {} {preposition} {}", label(a), label(b))
            }
            Action::Drop(o) => format!("drop {}", label(o)),
            Action::Pour(a, b) => format!("pour {} into {}", label(a), label(b)),
            Action::Water(pot) => format!("water {}", label(pot)),
            Action::TurnOn(o) => format!("turn on {}", label(o)),
            Action::TurnOff(o) => format!("turn off {}", label(o)),
            Action::Measure(x) => format!("use thermometer on {}", label(x)),
            Action::Connect(source, part) => {
                format!("connect {} to {}", source_name(world, source), label(part))
            }
            Action::Disconnect(part) => format!("disconnect {}", label(part)),
            Action::Wait(1) => "wait".to_owned(),
            Action::Wait(n) => format!("wait {n}"),
            Action::Focus(o) => format!("focus on {}", label(o)),
        }
    }
}

/// Ticks a `wait` action can skip.
pub const WAITS: [u32; 2] = [1, 5];

fn source_name(world: &World, source: Source) -> String {
    match source {
        Source::Pole(pole) => pole.name().to_owned(),
        Source::Switch(s) => world.label(s),
    }
}

/// The first object the agent carries (at top level) whose kind passes `test`.
pub fn carried(world: &World, test: impl Fn(&Kind) -> bool) -> Option<ObjectId> {
    world
        .ids()
        .find(|&o| world.objects[o].place == Place::Carried && test(&world.objects[o].kind))
}

/// Whether receptacle `r` takes the carried object `item`.
fn accepts(world: &World, r: ObjectId, item: ObjectId) -> bool {
    let item_kind = &world.objects[item].kind;
    let container = matches!(item_kind, Kind::Container { .. });
    let substance = world.is_substance(item);
    match world.objects[r].kind {
        Kind::Stove { .. } => *item_kind == Kind::Container { heatproof: true },
        Kind::Sink { .. } => container || matches!(item_kind, Kind::WateringCan { .. }),
        Kind::Cooler { .. } | Kind::Box => container || substance,
        Kind::Container { .. } => substance && world.children(r).next().is_none(),
        Kind::FlowerPot { .. } => {
            let has_soil = world
                .children(r)
                .any(|c| world.objects[c].kind == Kind::Soil);
            let has_plant = world
                .children(r)
                .any(|c| matches!(world.objects[c].kind, Kind::Plant { .. }));
            match item_kind {
                Kind::Soil => !has_soil,
                Kind::Seeds { .. } => has_soil && !has_plant,
                _ => false,
            }
        }
        _ => false,
    }
}

/// Every admissible action, in the stable order described above.
pub fn admissible(world: &World) -> Vec<Action> {
    let mut actions = Vec::with_capacity(32);
    if world.agent == Room::Hallway {
        actions.extend(
            world
                .rooms
                .iter()
                .filter(|&&r| r != Room::Hallway)
                .map(|&r| Action::Go(r)),
        );
    } else {
        actions.push(Action::Go(Room::Hallway));
    }
    let visible: Vec<ObjectId> = world.ids().filter(|&o| world.is_visible(o)).collect();
    let held: Vec<ObjectId> = world
        .ids()
        .filter(|&o| world.objects[o].place == Place::Carried)
        .collect();
    for &o in &visible {
        if world.objects[o].place != Place::Carried && world.is_portable(o) {
            actions.push(Action::PickUp(o));
        }
    }
    for &item in &held {
        for &r in &visible {
            if r != item
                && !world.is_inside(r, item)
                && world.objects[item].place != Place::In(r)
                && accepts(world, r, item)
            {
                actions.push(Action::Put(item, r));
            }
        }
    }
    actions.extend(held.iter().map(|&item| Action::Drop(item)));
    for &item in &held {
        let pours = world
            .content(item)
            .is_some_and(|c| world.matter(c) == Some(crate::world::Matter::Liquid));
        if pours {
            for &r in &visible {
                if r != item
                    && matches!(world.objects[r].kind, Kind::Container { .. })
                    && world.children(r).next().is_none()
                {
                    actions.push(Action::Pour(item, r));
                }
            }
        }
    }
    if carried(world, |k| *k == Kind::WateringCan { full: true }).is_some() {
        for &pot in &visible {
            if matches!(world.objects[pot].kind, Kind::FlowerPot { .. })
                && world
                    .children(pot)
                    .any(|c| world.objects[c].kind == Kind::Soil)
            {
                actions.push(Action::Water(pot));
            }
        }
    }
    for &o in &visible {
        match world.objects[o].kind {
            Kind::Stove { on, .. } | Kind::Sink { on } | Kind::Switch { on } => {
                actions.push(if on {
                    Action::TurnOff(o)
                } else {
                    Action::TurnOn(o)
                });
            }
            _ => {}
        }
    }
    if carried(world, |k| *k == Kind::Thermometer).is_some() {
        actions.extend(
            visible
                .iter()
                .filter(|&&o| world.is_substance(o))
                .map(|&o| Action::Measure(o)),
        );
    }
    let battery_here = visible
        .iter()
        .any(|&o| world.objects[o].kind == Kind::Battery);
    if battery_here && carried(world, |k| *k == Kind::Wire).is_some() {
        let parts: Vec<ObjectId> = visible
            .iter()
            .copied()
            .filter(|&o| circuit::is_part(world, o) && circuit::free_terminal(world, o).is_some())
            .collect();
        let switches = parts
            .iter()
            .filter(|&&o| matches!(world.objects[o].kind, Kind::Switch { .. }));
        let sources: Vec<Source> = [Source::Pole(Pole::Anode), Source::Pole(Pole::Cathode)]
            .into_iter()
            .chain(switches.map(|&s| Source::Switch(s)))
            .collect();
        for &source in &sources {
            for &part in &parts {
                let allowed = match source {
                    Source::Pole(_) => true,
                    Source::Switch(s) => {
                        s != part && matches!(world.objects[part].kind, Kind::Device { .. })
                    }
                };
                if allowed && circuit::source_is_free(world, source) {
                    actions.push(Action::Connect(source, part));
                }
            }
        }
    }
    for &o in &visible {
        if circuit::is_part(world, o) && world.wiring.iter().any(|c| c.touches(o)) {
            actions.push(Action::Disconnect(o));
        }
    }
    actions.extend(WAITS.iter().map(|&n| Action::Wait(n)));
    actions.extend(
        visible
            .iter()
            .filter(|&&o| is_focusable(world, o))
            .map(|&o| Action::Focus(o)),
    );
    actions
}

/// Whether the object could be what a task is about: a substance, a plant
/// (or its seeds) or an electrical device. Tools, containers, appliances and
/// furniture are never task targets and cannot be focused on.
pub fn is_focusable(world: &World, id: ObjectId) -> bool {
    matches!(
        world.objects[id].kind,
        Kind::Substance { .. } | Kind::Plant { .. } | Kind::Seeds { .. } | Kind::Device { .. }
    )
}

/// Carries out a non-focus action and returns what happened, in words. Time
/// is advanced by the caller.
pub fn apply(world: &mut World, action: Action) -> String {
    let name = |world: &World, o: ObjectId| world.label(o);
    match action {
        Action::Go(room) => {
            world.agent = room;
            format!("You go to the {}.", room.name())
        }
        Action::PickUp(o) => {
            let text = format!("You pick up the {}.", name(world, o));
            world.objects[o].place = Place::Carried;
            text
        }
        Action::Put(item, r) => put(world, item, r),
        Action::Drop(item) => {
            world.objects[item].place = Place::Room(world.agent);
            format!("You drop the {}.", name(world, item))
        }
        Action::Pour(from, to) => match world.content(from) {
            Some(liquid) => {
                let text = format!(
                    "You pour the {} from the {} into the {}.",
                    name(world, liquid),
                    name(world, from),
                    name(world, to)
                );
                world.objects[liquid].place = Place::In(to);
                text
            }
            None => format!("The {} is empty.", name(world, from)),
        },
        Action::Water(pot) => {
            let ticks = world.physics.moisture_ticks;
            if let Kind::FlowerPot { moisture } = &mut world.objects[pot].kind {
                *moisture = ticks;
            }
            format!("You water the {}. The soil is wet.", name(world, pot))
        }
        Action::TurnOn(o) | Action::TurnOff(o) => {
            let switched_on = matches!(action, Action::TurnOn(_));
            if let Kind::Stove { on, .. } | Kind::Sink { on } | Kind::Switch { on } =
                &mut world.objects[o].kind
            {
                *on = switched_on;
            }
            let state = if switched_on { "on" } else { "off" };
            format!("You turn {state} the {}.", name(world, o))
        }
        Action::Measure(x) => match world.temperature(x) {
            Some(celsius) => {
                world.readings.push(crate::world::Reading {
                    substance: x,
                    celsius,
                });
                format!(
                    "The thermometer reads {celsius} C for the {}.",
                    name(world, x)
                )
            }
            None => "The thermometer shows nothing.".to_owned(),
        },
        Action::Connect(source, part) => match carried(world, |k| *k == Kind::Wire) {
            Some(wire) => {
                let text = format!(
                    "You connect the {} to the {} with the {}.",
                    source_name(world, source),
                    name(world, part),
                    name(world, wire)
                );
                circuit::connect(world, wire, source, part);
                text
            }
            None => "You have no wire.".to_owned(),
        },
        Action::Disconnect(part) => {
            let n = circuit::disconnect(world, part);
            format!("You take {n} wire(s) off the {}.", name(world, part))
        }
        Action::Wait(1) => "You wait.".to_owned(),
        Action::Wait(n) => format!("You wait {n} ticks."),
        Action::Focus(o) => format!("You focus on the {}.", name(world, o)),
    }
}

fn put(world: &mut World, item: ObjectId, r: ObjectId) -> String {
    let preposition = if matches!(world.objects[r].kind, Kind::Stove { .. }) {
        "on"
    } else {
        "in"
    };
    let text = format!(
        "You put the {} {preposition} the {}.",
        world.label(item),
        world.label(r)
    );
    world.objects[item].place = Place::In(r);
    if let Kind::Seeds { species } = world.objects[item].kind {
        world.objects[item].name = species.to_owned();
        world.objects[item].kind = Kind::Plant {
            stage: Stage::Seed,
            growth: 0,
        };
        return format!("You plant the {species} seeds in the {}.", world.label(r));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::Physics;

    fn kitchen() -> (World, ObjectId, ObjectId, ObjectId) {
        let mut world = World::new(
            vec![Room::Hallway, Room::Kitchen, Room::Workshop],
            Room::Kitchen,
            Physics {
                ticks_per_stage: 2,
                moisture_ticks: 5,
            },
        );
        let stove = world.add(
            "stove",
            Kind::Stove {
                on: false,
                rate: 20,
            },
            Place::Room(Room::Kitchen),
        );
        let pot = world.add(
            "metal pot",
            Kind::Container { heatproof: true },
            Place::Room(Room::Kitchen),
        );
        let jug = world.add(
            "jug",
            Kind::Container { heatproof: false },
            Place::Room(Room::Kitchen),
        );
        world.add(
            "milk",
            Kind::Substance {
                melting: -1,
                boiling: 100,
                temperature: 4,
            },
            Place::In(jug),
        );
        (world, stove, pot, jug)
    }

    fn texts(world: &World) -> Vec<String> {
        admissible(world).iter().map(|a| a.text(world)).collect()
    }

    #[test]
    fn only_heatproof_containers_go_on_the_stove() {
        let (mut world, _, pot, jug) = kitchen();
        world.objects[pot].place = Place::Carried;
        world.objects[jug].place = Place::Carried;
        let listed = texts(&world);
        assert!(listed.contains(&"put metal pot on stove".to_owned()));
        assert!(!listed.contains(&"put jug on stove".to_owned()));
        assert!(listed.contains(&"pour jug into metal pot".to_owned()));
    }

    #[test]
    fn listing_is_stable_and_ordered() {
        let (world, ..) = kitchen();
        let listed = texts(&world);
        assert_eq!(listed, texts(&world));
        assert_eq!(listed[0], "go to hallway");
        assert_eq!(
            listed,
            [
                "go to hallway",
                "pick up metal pot",
                "pick up jug",
                "turn on stove",
                "wait",
                "wait 5",
                "focus on milk"
            ]
        );
        assert!(listed.contains(&"turn on stove".to_owned()));
        assert!(!listed.iter().any(|t| t.starts_with("use thermometer")));
    }

    #[test]
    fn pouring_moves_the_liquid() {
        let (mut world, stove, pot, jug) = kitchen();
        world.objects[jug].place = Place::Carried;
        let text = apply(&mut world, Action::Pour(jug, pot));
        assert_eq!(text, "You pour the milk from the jug into the metal pot.");
        assert!(world.content(jug).is_none());
        let milk = world.content(pot).expect("milk moved");
        apply(&mut world, Action::PickUp(pot));
        apply(&mut world, Action::Put(pot, stove));
        apply(&mut world, Action::TurnOn(stove));
        for _ in 0..5 {
            world.tick();
        }
        assert_eq!(world.matter(milk), Some(crate::world::Matter::Gas));
    }

    #[test]
    fn planting_turns_seeds_into_a_plant() {
        let (mut world, ..) = kitchen();
        let pot = world.add(
            "flower pot",
            Kind::FlowerPot { moisture: 0 },
            Place::Room(Room::Kitchen),
        );
        let soil = world.add("soil", Kind::Soil, Place::Carried);
        let seeds = world.add(
            "bean seeds",
            Kind::Seeds { species: "bean" },
            Place::Carried,
        );
        assert!(
            !admissible(&world).contains(&Action::Put(seeds, pot)),
            "soil first"
        );
        apply(&mut world, Action::Put(soil, pot));
        assert!(admissible(&world).contains(&Action::Put(seeds, pot)));
        assert_eq!(
            apply(&mut world, Action::Put(seeds, pot)),
            "You plant the bean seeds in the flower pot."
        );
        assert_eq!(world.objects[seeds].name, "bean");
        assert!(!world.is_portable(seeds));
    }
}
