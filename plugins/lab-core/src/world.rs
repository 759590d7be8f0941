//! The laboratory's state and how it evolves over ticks.
//!
//! A [`World`] is a set of rooms joined by a hallway and a flat arena of
//! [`Object`]s, each somewhere: in a room, carried by the agent, or inside
//! another object (a pot on the stove, milk in a jug, a seedling in a flower
//! pot). Every action advances time by one tick (`wait 5` by five); a tick runs
//! the sinks, moves every substance's temperature towards its surroundings
//! (a running stove heats, a freezer cools, rooms drift to their ambient
//! temperature) and grows the plants whose soil is wet.

use crate::circuit::Connection;

/// A room of the lab. Every room but the hallway opens onto the hallway.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Room {
    /// The hub joining every other room.
    Hallway,
    /// Stove, sink, freezer and fridge.
    Kitchen,
    /// Battery and electrical devices.
    Workshop,
    /// Flower pots, soil and seeds.
    Greenhouse,
    /// A cold store room that only `ood` tasks have.
    Storage,
}

impl Room {
    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            Room::Hallway => "hallway",
            Room::Kitchen => "kitchen",
            Room::Workshop => "workshop",
            Room::Greenhouse => "greenhouse",
            Room::Storage => "storage room",
        }
    }

    /// Temperature (°C) that loose things in the room drift towards.
    pub fn ambient(self) -> i32 {
        match self {
            Room::Hallway => 20,
            Room::Kitchen => 22,
            Room::Workshop => 16,
            Room::Greenhouse => 30,
            Room::Storage => 10,
        }
    }
}

/// Hottest temperature a running stove drives things to.
pub const STOVE_MAX: i32 = 300;
/// Degrees per tick a substance drifts towards its room's ambient temperature.
pub const DRIFT_RATE: i32 = 3;
/// Temperature of water from the tap.
pub const TAP_WATER: i32 = 15;
/// Growth stages a plant passes through, in order.
pub const STAGES: [Stage; 5] = [
    Stage::Seed,
    Stage::Sprout,
    Stage::Seedling,
    Stage::Adult,
    Stage::Flowering,
];

/// Index of an object in [`World::objects`].
pub type ObjectId = usize;

/// Where an object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// Lying in a room.
    Room(Room),
    /// Carried by the agent.
    Carried,
    /// Inside or on another object.
    In(ObjectId),
}

/// A state of matter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Matter {
    /// Below the melting point.
    Solid,
    /// Between melting and boiling points.
    Liquid,
    /// At or above the boiling point.
    Gas,
}

impl Matter {
    /// The state of a substance at `temperature`.
    pub fn at(temperature: i32, melting: i32, boiling: i32) -> Matter {
        if temperature < melting {
            Matter::Solid
        } else if temperature < boiling {
            Matter::Liquid
        } else {
            Matter::Gas
        }
    }

    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            Matter::Solid => "solid",
            Matter::Liquid => "liquid",
            Matter::Gas => "gas",
        }
    }
}

/// A plant's growth stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// Just planted.
    Seed,
    /// First shoot.
    Sprout,
    /// A few leaves.
    Seedling,
    /// Fully grown.
    Adult,
    /// In flower.
    Flowering,
}

impl Stage {
    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Seed => "seed",
            Stage::Sprout => "sprout",
            Stage::Seedling => "seedling",
            Stage::Adult => "adult",
            Stage::Flowering => "flowering",
        }
    }

    /// The stage after this one (the last stage stays).
    pub fn next(self) -> Stage {
        STAGES[(self as usize + 1).min(STAGES.len() - 1)]
    }
}

/// What an object is, with its mutable state.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// Heats what is on it while on.
    Stove {
        /// Switched on.
        on: bool,
        /// Degrees per tick while on.
        rate: i32,
    },
    /// Fills empty containers in it with water while on.
    Sink {
        /// Tap running.
        on: bool,
    },
    /// Keeps what is in it at `target` (a freezer or a fridge).
    Cooler {
        /// Temperature it drives contents to.
        target: i32,
        /// Degrees per tick.
        rate: i32,
    },
    /// Holds one substance.
    Container {
        /// May go on the stove.
        heatproof: bool,
    },
    /// A substance with its own temperature.
    Substance {
        /// Melting point.
        melting: i32,
        /// Boiling point.
        boiling: i32,
        /// Current temperature.
        temperature: i32,
    },
    /// Measures substances.
    Thermometer,
    /// A coloured box.
    Box,
    /// Holds soil and a plant.
    FlowerPot {
        /// Ticks until the soil dries out.
        moisture: u32,
    },
    /// Potting soil.
    Soil,
    /// A packet of seeds; becomes a [`Kind::Plant`] once planted.
    Seeds {
        /// What grows from them.
        species: &'static str,
    },
    /// A planted seed and what grew from it.
    Plant {
        /// Current stage.
        stage: Stage,
        /// Wet ticks spent in the current stage.
        growth: u32,
    },
    /// Waters flower pots when full.
    WateringCan {
        /// Holds water.
        full: bool,
    },
    /// Powers devices through wires.
    Battery,
    /// Works while both terminals reach different battery poles.
    Device {
        /// State word while powered.
        on: &'static str,
        /// State word while unpowered.
        off: &'static str,
    },
    /// Joins its two terminals while on.
    Switch {
        /// Closed.
        on: bool,
    },
    /// Joins two terminals.
    Wire,
    /// Plays no part in any task.
    Trinket,
}

/// One thing in the lab.
#[derive(Clone, Debug, PartialEq)]
pub struct Object {
    /// Display name (unique among non-substances).
    pub name: String,
    /// What it is.
    pub kind: Kind,
    /// Where it is.
    pub place: Place,
}

/// Rates that vary between episodes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Physics {
    /// Wet ticks a plant needs per growth stage.
    pub ticks_per_stage: u32,
    /// Ticks watered soil stays wet.
    pub moisture_ticks: u32,
}

/// A thermometer reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reading {
    /// What was measured.
    pub substance: ObjectId,
    /// The temperature read.
    pub celsius: i32,
}

/// The whole lab at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct World {
    /// Every object; ids are indices and never change.
    pub objects: Vec<Object>,
    /// Rooms in this lab, hallway first.
    pub rooms: Vec<Room>,
    /// Where the agent stands.
    pub agent: Room,
    /// Ticks since the start.
    pub time: u32,
    /// Per-episode rates.
    pub physics: Physics,
    /// Wires joining terminals.
    pub wiring: Vec<Connection>,
    /// Thermometer readings, oldest first.
    pub readings: Vec<Reading>,
}

impl World {
    /// An empty lab with `rooms`, the agent in `agent`.
    pub fn new(rooms: Vec<Room>, agent: Room, physics: Physics) -> Self {
        World {
            objects: Vec::new(),
            rooms,
            agent,
            time: 0,
            physics,
            wiring: Vec::new(),
            readings: Vec::new(),
        }
    }

    /// Adds an object and returns its id.
    pub fn add(&mut self, name: impl Into<String>, kind: Kind, place: Place) -> ObjectId {
        self.objects.push(Object {
            name: name.into(),
            kind,
            place,
        });
        self.objects.len() - 1
    }

    /// The first object called `name`.
    pub fn find(&self, name: &str) -> Option<ObjectId> {
        self.objects.iter().position(|o| o.name == name)
    }

    /// The object `id` is in or on, if any.
    pub fn parent(&self, id: ObjectId) -> Option<ObjectId> {
        match self.objects[id].place {
            Place::In(parent) => Some(parent),
            _ => None,
        }
    }

    /// The room the object is in, or [`Place::Carried`] when the agent has it
    /// (directly or inside something carried).
    pub fn root(&self, id: ObjectId) -> Place {
        let mut current = id;
        loop {
            match self.objects[current].place {
                Place::In(parent) => current = parent,
                place => return place,
            }
        }
    }

    /// The room the object is in, counting carried objects as in the agent's
    /// room.
    pub fn room_of(&self, id: ObjectId) -> Room {
        match self.root(id) {
            Place::Room(room) => room,
            _ => self.agent,
        }
    }

    /// Whether the agent can see the object (same room, or carried).
    pub fn is_visible(&self, id: ObjectId) -> bool {
        match self.root(id) {
            Place::Room(room) => room == self.agent,
            _ => true,
        }
    }

    /// Whether `ancestor` contains `id`, directly or not.
    pub fn is_inside(&self, id: ObjectId, ancestor: ObjectId) -> bool {
        let mut current = id;
        while let Some(parent) = self.parent(current) {
            if parent == ancestor {
                return true;
            }
            current = parent;
        }
        false
    }

    /// Objects directly in or on `id`, in id order.
    pub fn children(&self, id: ObjectId) -> impl Iterator<Item = ObjectId> + '_ {
        self.ids()
            .filter(move |&o| self.objects[o].place == Place::In(id))
    }

    /// Every object id, in order.
    pub fn ids(&self) -> std::ops::Range<ObjectId> {
        0..self.objects.len()
    }

    /// The substance directly inside `id`, if any.
    pub fn content(&self, id: ObjectId) -> Option<ObjectId> {
        self.children(id).find(|&c| self.is_substance(c))
    }

    /// Whether the object is a substance.
    pub fn is_substance(&self, id: ObjectId) -> bool {
        matches!(self.objects[id].kind, Kind::Substance { .. })
    }

    /// A substance's current state of matter.
    pub fn matter(&self, id: ObjectId) -> Option<Matter> {
        match self.objects[id].kind {
            Kind::Substance {
                melting,
                boiling,
                temperature,
            } => Some(Matter::at(temperature, melting, boiling)),
            _ => None,
        }
    }

    /// A substance's current temperature.
    pub fn temperature(&self, id: ObjectId) -> Option<i32> {
        match self.objects[id].kind {
            Kind::Substance { temperature, .. } => Some(temperature),
            _ => None,
        }
    }

    /// Whether the agent could pick the object up where it is.
    pub fn is_portable(&self, id: ObjectId) -> bool {
        let movable = match self.objects[id].kind {
            Kind::Container { .. }
            | Kind::Thermometer
            | Kind::Soil
            | Kind::Seeds { .. }
            | Kind::WateringCan { .. }
            | Kind::Wire
            | Kind::Trinket => true,
            Kind::Substance { .. } => self.matter(id) == Some(Matter::Solid),
            _ => false,
        };
        let held_in_place = self.parent(id).is_some_and(|p| {
            matches!(
                self.objects[p].kind,
                Kind::Device { .. } | Kind::Switch { .. } | Kind::FlowerPot { .. }
            )
        });
        movable && !held_in_place
    }

    /// What the agent would carry to move `id`: `id` itself when already
    /// carried, else the outermost portable thing holding it (the jug holding
    /// the milk), else `id` if it is portable.
    pub fn carrier(&self, id: ObjectId) -> Option<ObjectId> {
        if self.objects[id].place == Place::Carried {
            return Some(id);
        }
        let mut current = id;
        while let Some(parent) = self.parent(current) {
            let holds = matches!(
                self.objects[parent].kind,
                Kind::Container { .. } | Kind::WateringCan { .. }
            );
            if holds && self.is_portable(parent) {
                current = parent;
            } else {
                break;
            }
        }
        self.is_portable(current).then_some(current)
    }

    /// The name shown for `id`: substances sharing a name with another
    /// substance are told apart by their container ("water in cup").
    pub fn label(&self, id: ObjectId) -> String {
        let object = &self.objects[id];
        let shared = self.is_substance(id)
            && self
                .ids()
                .any(|o| o != id && self.is_substance(o) && self.objects[o].name == object.name);
        match (shared, self.parent(id)) {
            (true, Some(parent)) => format!("{} in {}", object.name, self.objects[parent].name),
            _ => object.name.clone(),
        }
    }

    /// The latest reading of `substance`, if it was ever measured.
    pub fn reading(&self, substance: ObjectId) -> Option<i32> {
        self.readings
            .iter()
            .rev()
            .find(|r| r.substance == substance)
            .map(|r| r.celsius)
    }

    /// Advances time by one tick.
    pub fn tick(&mut self) {
        self.time += 1;
        self.run_sinks();
        self.exchange_heat();
        self.grow_plants();
    }

    /// Running sinks fill the empty containers and watering cans in them.
    fn run_sinks(&mut self) {
        let sinks: Vec<ObjectId> = self
            .ids()
            .filter(|&o| matches!(self.objects[o].kind, Kind::Sink { on: true }))
            .collect();
        for sink in sinks {
            let inside: Vec<ObjectId> = self.children(sink).collect();
            for vessel in inside {
                let empty_container = matches!(self.objects[vessel].kind, Kind::Container { .. })
                    && self.content(vessel).is_none();
                if empty_container {
                    let water = crate::catalog::substance("water");
                    self.add(
                        "water",
                        Kind::Substance {
                            melting: water.melting,
                            boiling: water.boiling,
                            temperature: TAP_WATER,
                        },
                        Place::In(vessel),
                    );
                } else if let Kind::WateringCan { full } = &mut self.objects[vessel].kind {
                    *full = true;
                }
            }
        }
    }

    /// Where a substance's temperature is heading, and how fast.
    fn surroundings(&self, id: ObjectId) -> (i32, i32) {
        let mut current = id;
        loop {
            match self.objects[current].place {
                Place::Room(room) => return (room.ambient(), DRIFT_RATE),
                Place::Carried => return (self.agent.ambient(), DRIFT_RATE),
                Place::In(parent) => {
                    match self.objects[parent].kind {
                        Kind::Stove { on: true, rate } => return (STOVE_MAX, rate),
                        Kind::Cooler { target, rate } => return (target, rate),
                        _ => {}
                    }
                    current = parent;
                }
            }
        }
    }

    /// Moves every substance's temperature towards its surroundings.
    fn exchange_heat(&mut self) {
        for id in self.ids() {
            if !self.is_substance(id) {
                continue;
            }
            let (target, rate) = self.surroundings(id);
            if let Kind::Substance { temperature, .. } = &mut self.objects[id].kind {
                *temperature += (target - *temperature).clamp(-rate, rate);
            }
        }
    }

    /// Plants in wet soil grow; soil dries.
    fn grow_plants(&mut self) {
        let ticks_per_stage = self.physics.ticks_per_stage;
        for id in self.ids() {
            let wet = self.parent(id).is_some_and(|pot| {
                matches!(self.objects[pot].kind, Kind::FlowerPot { moisture } if moisture > 0)
            });
            if let Kind::Plant { stage, growth } = &mut self.objects[id].kind
                && wet
                && *stage != Stage::Flowering
            {
                *growth += 1;
                if *growth >= ticks_per_stage {
                    *stage = stage.next();
                    *growth = 0;
                }
            }
        }
        for object in &mut self.objects {
            if let Kind::FlowerPot { moisture } = &mut object.kind {
                *moisture = moisture.saturating_sub(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab() -> World {
        World::new(
            vec![Room::Hallway, Room::Kitchen],
            Room::Kitchen,
            Physics {
                ticks_per_stage: 2,
                moisture_ticks: 3,
            },
        )
    }

    fn milk(temperature: i32, place: Place, world: &mut World) -> ObjectId {
        world.add(
            "milk",
            Kind::Substance {
                melting: -1,
                boiling: 100,
                temperature,
            },
            place,
        )
    }

    #[test]
    fn a_running_stove_boils_what_is_in_a_pot_on_it() {
        let mut world = lab();
        let stove = world.add(
            "stove",
            Kind::Stove { on: true, rate: 20 },
            Place::Room(Room::Kitchen),
        );
        let pot = world.add("pot", Kind::Container { heatproof: true }, Place::In(stove));
        let milk = milk(20, Place::In(pot), &mut world);
        for _ in 0..3 {
            world.tick();
        }
        assert_eq!(world.temperature(milk), Some(80));
        assert_eq!(world.matter(milk), Some(Matter::Liquid));
        world.tick();
        assert_eq!(world.matter(milk), Some(Matter::Gas));
    }

    #[test]
    fn coolers_and_rooms_pull_towards_their_temperature() {
        let mut world = lab();
        let freezer = world.add(
            "freezer",
            Kind::Cooler {
                target: -18,
                rate: 6,
            },
            Place::Room(Room::Kitchen),
        );
        let cold = milk(20, Place::In(freezer), &mut world);
        let warm = milk(-10, Place::Room(Room::Kitchen), &mut world);
        for _ in 0..4 {
            world.tick();
        }
        assert_eq!(world.temperature(cold), Some(-4));
        assert_eq!(world.matter(cold), Some(Matter::Solid));
        assert_eq!(world.temperature(warm), Some(2));
        for _ in 0..20 {
            world.tick();
        }
        assert_eq!(world.temperature(cold), Some(-18));
        assert_eq!(world.temperature(warm), Some(Room::Kitchen.ambient()));
    }

    #[test]
    fn a_running_sink_fills_empty_containers_once() {
        let mut world = lab();
        let sink = world.add("sink", Kind::Sink { on: true }, Place::Room(Room::Kitchen));
        let cup = world.add("cup", Kind::Container { heatproof: false }, Place::In(sink));
        let can = world.add("can", Kind::WateringCan { full: false }, Place::In(sink));
        world.tick();
        world.tick();
        let water = world.content(cup).expect("the cup fills");
        assert_eq!(world.objects[water].name, "water");
        assert_eq!(world.objects.len(), 4, "filled only once");
        assert_eq!(world.objects[can].kind, Kind::WateringCan { full: true });
    }

    #[test]
    fn plants_grow_only_while_the_soil_is_wet() {
        let mut world = lab();
        let pot = world.add(
            "flower pot",
            Kind::FlowerPot { moisture: 3 },
            Place::Room(Room::Kitchen),
        );
        let plant = world.add(
            "bean",
            Kind::Plant {
                stage: Stage::Seed,
                growth: 0,
            },
            Place::In(pot),
        );
        for _ in 0..10 {
            world.tick();
        }
        // Three wet ticks at two ticks per stage: one stage, then it dries.
        assert_eq!(
            world.objects[plant].kind,
            Kind::Plant {
                stage: Stage::Sprout,
                growth: 1
            }
        );
        assert_eq!(world.objects[pot].kind, Kind::FlowerPot { moisture: 0 });
    }

    #[test]
    fn carriers_and_labels() {
        let mut world = lab();
        let fridge = world.add(
            "fridge",
            Kind::Cooler { target: 4, rate: 4 },
            Place::Room(Room::Kitchen),
        );
        let jug = world.add(
            "jug",
            Kind::Container { heatproof: false },
            Place::In(fridge),
        );
        let in_jug = milk(4, Place::In(jug), &mut world);
        assert_eq!(world.carrier(in_jug), Some(jug));
        assert_eq!(world.carrier(fridge), None);
        assert_eq!(world.label(in_jug), "milk");
        let loose = milk(-5, Place::Carried, &mut world);
        assert_eq!(world.label(in_jug), "milk in jug");
        assert_eq!(world.label(loose), "milk");
        assert_eq!(
            world.carrier(loose),
            Some(loose),
            "solid milk can be carried"
        );
        assert!(world.is_visible(loose));
        world.agent = Room::Hallway;
        assert!(!world.is_visible(in_jug));
        assert_eq!(world.room_of(in_jug), Room::Kitchen);
    }
}
