//! The state of one episode's room: receptacles, objects, the lamp and the
//! agent, and how a task's objects are placed for a given seed.

use std::fmt::{self, Write as _};

use crate::catalog::{LampKind, ObjectKind, ReceptacleKind, Transform};
use crate::rng::Rng;
use crate::task::{Destination, TaskSpec};

/// Where an object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// In or on a receptacle (an index into [`World::receptacles`]).
    In(usize),
    /// In the agent's hands.
    Held,
}

/// A receptacle and what the agent knows about it.
#[derive(Clone, Debug, PartialEq)]
pub struct Receptacle {
    /// Its kind.
    pub kind: &'static ReceptacleKind,
    /// Its number among receptacles of its kind.
    pub number: u8,
    /// Open (only meaningful for openable kinds).
    pub open: bool,
    /// The agent has been at it.
    pub visited: bool,
    /// The agent has seen its contents (been at it while it was open or
    /// while it had no door).
    pub searched: bool,
}

impl Receptacle {
    /// Whether its contents can be seen and reached now.
    pub fn accessible(&self) -> bool {
        !self.kind.openable || self.open
    }
}

impl fmt::Display for Receptacle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.name, self.number)
    }
}

/// A portable object.
#[derive(Clone, Debug, PartialEq)]
pub struct Object {
    /// Its kind.
    pub kind: &'static ObjectKind,
    /// Its number among objects of its kind.
    pub number: u8,
    /// Where it is.
    pub place: Place,
    /// Washed at a sink basin.
    pub clean: bool,
    /// Heated (and not cooled since).
    pub hot: bool,
    /// Cooled (and not heated since).
    pub cold: bool,
}

impl Object {
    /// Its states as an adjective list ("clean, hot"), empty when plain.
    pub fn write_states(&self, out: &mut String) {
        let states = [
            (self.clean, "clean"),
            (self.hot, "hot"),
            (self.cold, "cool"),
        ];
        let mut first = true;
        for (_, word) in states.iter().filter(|(on, _)| *on) {
            if !first {
                out.push_str(", ");
            }
            out.push_str(word);
            first = false;
        }
    }

    /// Whether the object shows `transform` (is clean, hot or cold).
    pub fn has(&self, transform: Transform) -> bool {
        transform.achieved(self.clean, self.hot, self.cold)
    }

    /// Whether any state is set.
    pub fn has_state(&self) -> bool {
        self.clean || self.hot || self.cold
    }
}

impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.name, self.number)
    }
}

/// A lamp standing on a receptacle.
#[derive(Clone, Debug, PartialEq)]
pub struct Lamp {
    /// Its kind.
    pub kind: &'static LampKind,
    /// The receptacle it stands on.
    pub host: usize,
    /// Switched on.
    pub on: bool,
}

impl fmt::Display for Lamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} 1", self.kind.name)
    }
}

/// The room's full state.
#[derive(Clone, Debug, PartialEq)]
pub struct World {
    /// The room's receptacles, in the task's order.
    pub receptacles: Vec<Receptacle>,
    /// Every object.
    pub objects: Vec<Object>,
    /// The lamp, if any.
    pub lamp: Option<Lamp>,
    /// The receptacle the agent stands at (`None`: the middle of the room).
    pub agent: Option<usize>,
    /// The object the agent holds.
    pub held: Option<usize>,
}

impl World {
    /// Builds the room of `spec` and places its objects using `rng`: the
    /// goal objects (the required count, sometimes one spare) away from the
    /// target and the lamp, and about one distractor per two receptacles,
    /// each in a receptacle that suits its class.
    pub fn populate(spec: &TaskSpec, rng: &mut Rng) -> World {
        let receptacles: Vec<Receptacle> = spec
            .receptacles
            .iter()
            .map(|r| Receptacle {
                kind: r.kind,
                number: r.number,
                open: false,
                visited: false,
                searched: false,
            })
            .collect();
        let mut world = World {
            receptacles,
            objects: Vec::new(),
            lamp: spec.lamp.map(|lamp| Lamp {
                kind: lamp.kind,
                host: lamp.host,
                on: false,
            }),
            agent: None,
            held: None,
        };

        let goal = &spec.goal;
        let mut avoid = Vec::with_capacity(2);
        if let Destination::Receptacle(target) = goal.destination {
            avoid.push(target);
        }
        if let Some(lamp) = spec.lamp {
            avoid.push(lamp.host);
        }
        let goal_instances = goal.count + rng.below(2);
        for _ in 0..goal_instances {
            world.spawn(goal.object, rng, &avoid);
        }

        let distractor_kinds: Vec<&'static ObjectKind> = spec
            .room
            .objects
            .iter()
            .copied()
            .filter(|kind| *kind != goal.object)
            .collect();
        let distractors = (world.receptacles.len() / 2 + rng.below(3))
            .saturating_sub(1)
            .max(2);
        for _ in 0..distractors {
            let kind = rng.pick(&distractor_kinds);
            world.spawn(kind, rng, &[]);
        }
        world
    }

    /// Adds an object of `kind` to a random suitable receptacle not in `avoid`.
    fn spawn(&mut self, kind: &'static ObjectKind, rng: &mut Rng, avoid: &[usize]) {
        let allowed = |i: &usize| !avoid.contains(i);
        let mut places: Vec<usize> = (0..self.receptacles.len())
            .filter(allowed)
            .filter(|&i| self.receptacles[i].kind.holds & kind.class != 0)
            .collect();
        if places.is_empty() {
            places = (0..self.receptacles.len()).filter(allowed).collect();
        }
        let number = 1 + self.objects.iter().filter(|o| o.kind == kind).count() as u8;
        self.objects.push(Object {
            kind,
            number,
            place: Place::In(rng.pick(&places)),
            clean: false,
            hot: false,
            cold: false,
        });
    }

    /// Objects in or on receptacle `receptacle`, in object order.
    pub fn contents(&self, receptacle: usize) -> impl Iterator<Item = usize> + '_ {
        self.objects
            .iter()
            .enumerate()
            .filter(move |(_, o)| o.place == Place::In(receptacle))
            .map(|(i, _)| i)
    }

    /// Whether the agent is at the lamp's receptacle.
    pub fn at_lamp(&self) -> bool {
        self.lamp
            .as_ref()
            .is_some_and(|lamp| self.agent == Some(lamp.host))
    }

    /// Marks the agent's receptacle visited, and searched when accessible.
    /// Returns whether it was newly searched.
    pub fn notice_surroundings(&mut self) -> bool {
        let Some(here) = self.agent else {
            return false;
        };
        let receptacle = &mut self.receptacles[here];
        receptacle.visited = true;
        let newly = receptacle.accessible() && !receptacle.searched;
        receptacle.searched |= receptacle.accessible();
        newly
    }

    /// Writes "a mug 1 (clean), and an apple 2" for `receptacle`'s contents
    /// (and its lamp), or "nothing".
    pub fn write_contents(&self, receptacle: usize, out: &mut String) {
        let mut count = 0;
        let total = self.contents(receptacle).count()
            + usize::from(self.lamp.as_ref().is_some_and(|l| l.host == receptacle));
        let separator = |out: &mut String, count: &mut usize| {
            if *count > 0 {
                out.push_str(if *count + 1 == total { ", and " } else { ", " });
            }
            *count += 1;
        };
        for index in self.contents(receptacle) {
            separator(out, &mut count);
            let object = &self.objects[index];
            let _ = write!(out, "{} {object}", object.kind.article());
            if object.has_state() {
                out.push_str(" (");
                object.write_states(out);
                out.push(')');
            }
        }
        if let Some(lamp) = self.lamp.as_ref().filter(|l| l.host == receptacle) {
            separator(out, &mut count);
            let state = if lamp.on { "on" } else { "off" };
            let _ = write!(out, "a {lamp} ({state})");
        }
        if total == 0 {
            out.push_str("nothing");
        }
    }
}

#[cfg(test)]
mod tests {
    use derl_env_api::Split;

    use super::*;
    use crate::task::{Difficulty, generate};

    fn world(split: Split, index: u32, seed: u64) -> (TaskSpec, World) {
        let spec = generate(split, index, Difficulty::Normal);
        let world = World::populate(&spec, &mut Rng::from_parts(&[seed]));
        (spec, world)
    }

    #[test]
    fn goal_objects_exist_away_from_target_and_lamp() {
        for split in Split::ALL {
            for index in 0..300 {
                let (spec, world) = world(split, index, 5);
                let goal_objects: Vec<&Object> = world
                    .objects
                    .iter()
                    .filter(|o| o.kind == spec.goal.object)
                    .collect();
                assert!(goal_objects.len() >= spec.goal.count);
                assert!(goal_objects.len() <= spec.goal.count + 1);
                for object in goal_objects {
                    let Place::In(at) = object.place else {
                        panic!("held at start")
                    };
                    assert_ne!(Destination::Receptacle(at), spec.goal.destination);
                    assert_ne!(Some(at), spec.lamp.map(|l| l.host));
                }
            }
        }
    }

    #[test]
    fn numbering_counts_per_kind_and_everything_starts_closed() {
        let (_, world) = world(Split::Train, 3, 1);
        for (i, object) in world.objects.iter().enumerate() {
            let earlier = world.objects[..i]
                .iter()
                .filter(|o| o.kind == object.kind)
                .count();
            assert_eq!(usize::from(object.number), earlier + 1);
        }
        assert!(
            world
                .receptacles
                .iter()
                .all(|r| !r.open && !r.visited && !r.searched)
        );
        assert_eq!((world.agent, world.held), (None, None));
    }

    #[test]
    fn seeds_move_objects_but_not_receptacles() {
        let (_, a) = world(Split::Train, 11, 1);
        let (_, b) = world(Split::Train, 11, 2);
        assert_eq!(a.receptacles, b.receptacles);
        let placements = |w: &World| {
            w.objects
                .iter()
                .map(|o| (o.kind.name, o.place))
                .collect::<Vec<_>>()
        };
        assert_ne!(placements(&a), placements(&b));
        assert_eq!(world(Split::Train, 11, 1).1, a);
    }

    #[test]
    fn contents_are_listed_with_commas_and_and() {
        let (_, mut world) = world(Split::Train, 0, 0);
        for object in &mut world.objects {
            object.place = Place::In(0);
        }
        world.objects.truncate(3);
        world.objects[1].clean = true;
        world.lamp = None;
        let mut text = String::new();
        world.write_contents(0, &mut text);
        assert_eq!(text.matches(", and ").count(), 1, "{text}");
        assert_eq!(text.matches(", ").count(), 2, "{text}");
        assert!(text.contains("(clean)"), "{text}");
        let mut empty = String::new();
        world.write_contents(1, &mut empty);
        assert_eq!(empty, "nothing");
    }
}
