//! Electrical circuits: a battery, two-terminal parts (devices and switches)
//! and the wires joining them.
//!
//! Every part has two terminals, each taking one wire; a battery pole takes
//! any number. A device is powered when its two terminals reach different
//! battery poles through wires and closed switches, and the poles are not
//! shorted together.

use crate::world::{Kind, ObjectId, Place, World};

/// A battery pole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pole {
    /// The positive pole.
    Anode,
    /// The negative pole.
    Cathode,
}

impl Pole {
    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            Pole::Anode => "battery anode",
            Pole::Cathode => "battery cathode",
        }
    }
}

/// One end of a wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    /// A battery pole.
    Pole(Pole),
    /// Terminal 0 or 1 of a part.
    Terminal(ObjectId, u8),
}

/// Where a connection starts: a battery pole or a switch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A battery pole.
    Pole(Pole),
    /// A free terminal of a switch.
    Switch(ObjectId),
}

/// A wire between two nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Connection {
    /// The wire object.
    pub wire: ObjectId,
    /// One end.
    pub from: Node,
    /// The other end.
    pub to: Node,
}

impl Connection {
    /// Whether either end is a terminal of `part`.
    pub fn touches(&self, part: ObjectId) -> bool {
        [self.from, self.to]
            .iter()
            .any(|node| matches!(node, Node::Terminal(p, _) if *p == part))
    }

    /// Whether the wire joins `source` (a pole, or any terminal of a switch)
    /// to any terminal of `part`, in either direction.
    pub fn joins(&self, source: Source, part: ObjectId) -> bool {
        let at_source = |node: Node| match (source, node) {
            (Source::Pole(pole), Node::Pole(p)) => pole == p,
            (Source::Switch(switch), Node::Terminal(p, _)) => switch == p,
            _ => false,
        };
        let at_part = |node: Node| matches!(node, Node::Terminal(p, _) if p == part);
        (at_source(self.from) && at_part(self.to)) || (at_source(self.to) && at_part(self.from))
    }
}

/// Whether the object has terminals (a device or a switch).
pub fn is_part(world: &World, id: ObjectId) -> bool {
    matches!(
        world.objects[id].kind,
        Kind::Device { .. } | Kind::Switch { .. }
    )
}

/// A terminal of `part` with no wire yet.
pub fn free_terminal(world: &World, part: ObjectId) -> Option<u8> {
    (0..2u8).find(|&t| {
        !world
            .wiring
            .iter()
            .any(|c| c.from == Node::Terminal(part, t) || c.to == Node::Terminal(part, t))
    })
}

/// Whether `source` has room for one more wire.
pub fn source_is_free(world: &World, source: Source) -> bool {
    match source {
        Source::Pole(_) => true,
        Source::Switch(switch) => free_terminal(world, switch).is_some(),
    }
}

/// Joins `source` to a free terminal of `part` with `wire`, which ends up
/// attached to `part`. The caller checks both ends are free.
pub fn connect(world: &mut World, wire: ObjectId, source: Source, part: ObjectId) {
    let from = match source {
        Source::Pole(pole) => Node::Pole(pole),
        Source::Switch(switch) => Node::Terminal(switch, free_terminal(world, switch).unwrap_or(0)),
    };
    let to = Node::Terminal(part, free_terminal(world, part).unwrap_or(0));
    world.wiring.push(Connection { wire, from, to });
    world.objects[wire].place = Place::In(part);
}

/// Removes every wire touching `part` and gives them back to the agent;
/// returns how many.
pub fn disconnect(world: &mut World, part: ObjectId) -> usize {
    let (removed, kept): (Vec<Connection>, Vec<Connection>) =
        world.wiring.iter().partition(|c| c.touches(part));
    world.wiring = kept;
    for connection in &removed {
        world.objects[connection.wire].place = Place::Carried;
    }
    removed.len()
}

/// Whether the device `part` is powered.
pub fn is_powered(world: &World, part: ObjectId) -> bool {
    let index = |node: Node| match node {
        Node::Pole(Pole::Anode) => 0,
        Node::Pole(Pole::Cathode) => 1,
        Node::Terminal(id, t) => 2 + 2 * id + t as usize,
    };
    let mut sets = UnionFind::new(2 + 2 * world.objects.len());
    for connection in &world.wiring {
        sets.union(index(connection.from), index(connection.to));
    }
    for id in world.ids() {
        if world.objects[id].kind == (Kind::Switch { on: true }) {
            sets.union(index(Node::Terminal(id, 0)), index(Node::Terminal(id, 1)));
        }
    }
    let (anode, cathode) = (sets.find(0), sets.find(1));
    if anode == cathode {
        return false;
    }
    let a = sets.find(index(Node::Terminal(part, 0)));
    let b = sets.find(index(Node::Terminal(part, 1)));
    (a == anode && b == cathode) || (a == cathode && b == anode)
}

/// Disjoint sets over `0..n`.
struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n).collect(),
        }
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        self.parent[ra] = rb;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::{Physics, Room};

    fn bench() -> (World, ObjectId, ObjectId, Vec<ObjectId>) {
        let mut world = World::new(
            vec![Room::Hallway, Room::Workshop],
            Room::Workshop,
            Physics {
                ticks_per_stage: 2,
                moisture_ticks: 5,
            },
        );
        let bulb = world.add(
            "light bulb",
            Kind::Device {
                on: "glowing",
                off: "dark",
            },
            Place::Room(Room::Workshop),
        );
        let switch = world.add(
            "switch",
            Kind::Switch { on: false },
            Place::Room(Room::Workshop),
        );
        let wires = (0..3)
            .map(|i| world.add(format!("wire {i}"), Kind::Wire, Place::Carried))
            .collect();
        (world, bulb, switch, wires)
    }

    #[test]
    fn a_device_needs_both_poles() {
        let (mut world, bulb, _, wires) = bench();
        connect(&mut world, wires[0], Source::Pole(Pole::Anode), bulb);
        assert!(!is_powered(&world, bulb));
        connect(&mut world, wires[1], Source::Pole(Pole::Cathode), bulb);
        assert!(is_powered(&world, bulb));
        assert_eq!(free_terminal(&world, bulb), None);
        assert_eq!(world.objects[wires[0]].place, Place::In(bulb));
    }

    #[test]
    fn the_same_pole_twice_powers_nothing() {
        let (mut world, bulb, _, wires) = bench();
        connect(&mut world, wires[0], Source::Pole(Pole::Anode), bulb);
        connect(&mut world, wires[1], Source::Pole(Pole::Anode), bulb);
        assert!(!is_powered(&world, bulb));
        assert_eq!(disconnect(&mut world, bulb), 2);
        assert!(world.wiring.is_empty());
        assert_eq!(world.objects[wires[1]].place, Place::Carried);
    }

    #[test]
    fn a_switch_in_series_must_be_closed() {
        let (mut world, bulb, switch, wires) = bench();
        connect(&mut world, wires[0], Source::Pole(Pole::Anode), switch);
        connect(&mut world, wires[1], Source::Switch(switch), bulb);
        connect(&mut world, wires[2], Source::Pole(Pole::Cathode), bulb);
        assert!(!is_powered(&world, bulb));
        world.objects[switch].kind = Kind::Switch { on: true };
        assert!(is_powered(&world, bulb));
        assert!(world.wiring[1].joins(Source::Switch(switch), bulb));
        assert!(!world.wiring[1].joins(Source::Pole(Pole::Anode), bulb));
    }

    #[test]
    fn a_short_circuit_powers_nothing() {
        let (mut world, bulb, switch, wires) = bench();
        world.objects[switch].kind = Kind::Switch { on: true };
        connect(&mut world, wires[0], Source::Pole(Pole::Anode), bulb);
        connect(&mut world, wires[1], Source::Pole(Pole::Cathode), bulb);
        connect(&mut world, wires[2], Source::Pole(Pole::Anode), switch);
        assert!(is_powered(&world, bulb));
        // Closing the loop anode-switch-... needs a cathode on the switch too.
        let extra = world.add("wire 3", Kind::Wire, Place::Carried);
        connect(&mut world, extra, Source::Pole(Pole::Cathode), switch);
        assert!(!is_powered(&world, bulb));
    }
}
