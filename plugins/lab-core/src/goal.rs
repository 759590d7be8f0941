//! What an episode asks for: the goal of each task family, how it is
//! confirmed by focusing, and the sub-goals of its causal chain.

use crate::circuit::{self, Pole, Source};
use crate::world::{Kind, Matter, ObjectId, Place, Stage, World};

/// The state change a state-of-matter task asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Solid to liquid.
    Melt,
    /// Liquid (or solid) to gas.
    Boil,
    /// Liquid to solid.
    Freeze,
}

impl Phase {
    /// The state of matter the task ends in.
    pub fn target(self) -> Matter {
        match self {
            Phase::Melt => Matter::Liquid,
            Phase::Boil => Matter::Gas,
            Phase::Freeze => Matter::Solid,
        }
    }
}

/// An episode's goal, resolved against its world.
#[derive(Clone, Debug, PartialEq)]
pub enum Goal {
    /// Bring a substance to a state of matter.
    ChangeState {
        /// Melt, boil or freeze.
        phase: Phase,
        /// Name of the substance (any substance of that name counts).
        substance: &'static str,
    },
    /// Measure a substance and file it in a box by the reading.
    Measure {
        /// Name of the substance.
        substance: &'static str,
        /// Readings above this go in `above`.
        threshold: i32,
        /// Box for readings above the threshold.
        above: ObjectId,
        /// Box for the other readings.
        below: ObjectId,
    },
    /// Grow a plant to a stage.
    Grow {
        /// Plant species.
        species: &'static str,
        /// Stage to reach (or pass).
        stage: Stage,
    },
    /// Power an electrical device.
    Power {
        /// The device.
        device: ObjectId,
        /// A switch the circuit must run through, if any.
        switch: Option<ObjectId>,
    },
}

/// Closing sentence of every goal: what focusing means.
pub const FOCUS_RULE: &str = "Focusing on anything else fails the task.";

impl Goal {
    /// The task, in words.
    pub fn describe(&self, world: &World) -> String {
        let body = match *self {
            Goal::ChangeState {
                phase,
                substance: x,
            } => match phase {
                Phase::Melt => format!(
                    "Your task is to melt the {x}. Once the {x} is liquid, focus on the {x}."
                ),
                Phase::Boil => format!(
                    "Your task is to boil the {x}. Once the {x} has turned into a gas, focus on the {x}."
                ),
                Phase::Freeze => format!(
                    "Your task is to freeze the {x}. Once the {x} is solid, focus on the {x}."
                ),
            },
            Goal::Measure {
                substance: x,
                threshold,
                above,
                below,
            } => format!(
                "Your task is to measure the temperature of the {x} with the thermometer. \
                 If it is above {threshold} C, put the {x} in the {}; otherwise put it in the {}. \
                 Then focus on the {x}. Putting the {x} in a box commits your answer: the wrong \
                 box, or a box before measuring, fails the task.",
                world.objects[above].name, world.objects[below].name
            ),
            Goal::Grow { species, stage } => format!(
                "Your task is to grow a {species}. Plant the {species} seeds in a pot with soil and \
                 keep the soil wet. Once the {species} has reached the {} stage, focus on the {species}.",
                stage.name()
            ),
            Goal::Power { device, switch } => {
                let name = &world.objects[device].name;
                let on = match world.objects[device].kind {
                    Kind::Device { on, .. } => on,
                    _ => "on",
                };
                match switch {
                    None => format!(
                        "Your task is to power the {name}. Wire it to the battery anode and to the \
                         battery cathode. Once the {name} is {on}, focus on the {name}."
                    ),
                    Some(s) => format!(
                        "Your task is to power the {name} through the {switch}. Wire the battery \
                         anode to the {switch}, the {switch} to the {name} and the {name} to the \
                         battery cathode, then turn the {switch} on. Once the {name} is {on}, focus \
                         on the {name}.",
                        switch = world.objects[s].name
                    ),
                }
            }
        };
        format!("{body} {FOCUS_RULE}")
    }

    /// Short name of the task family.
    pub fn family(&self) -> &'static str {
        match self {
            Goal::ChangeState { .. } => "state-change",
            Goal::Measure { .. } => "measure",
            Goal::Grow { .. } => "grow",
            Goal::Power { .. } => "power",
        }
    }

    /// Whether focusing on `id` is about this task (right or too early).
    pub fn is_target(&self, world: &World, id: ObjectId) -> bool {
        let object = &world.objects[id];
        match *self {
            Goal::ChangeState { substance, .. } | Goal::Measure { substance, .. } => {
                world.is_substance(id) && object.name == substance
            }
            Goal::Grow { species, .. } => {
                matches!(object.kind, Kind::Plant { .. }) && object.name == species
            }
            Goal::Power { device, .. } => id == device,
        }
    }

    /// Whether focusing on `id` now completes the task.
    pub fn is_done(&self, world: &World, id: ObjectId) -> bool {
        if !self.is_target(world, id) {
            return false;
        }
        match *self {
            Goal::ChangeState { phase, .. } => world.matter(id) == Some(phase.target()),
            Goal::Measure { .. } => self
                .correct_box(world, id)
                .is_some_and(|b| world.is_inside(id, b)),
            Goal::Grow { stage, .. } => {
                matches!(world.objects[id].kind, Kind::Plant { stage: s, .. } if s >= stage)
            }
            Goal::Power { device, .. } => circuit::is_powered(world, device),
        }
    }

    /// Why the task has just failed without a focus, if it has: a measured
    /// substance filed in the wrong box, or filed before being measured.
    pub fn blunder(&self, world: &World) -> Option<String> {
        let Goal::Measure { above, below, .. } = *self else {
            return None;
        };
        let x = self
            .targets(world)
            .find(|&x| world.is_inside(x, above) || world.is_inside(x, below))?;
        let name = world.label(x);
        match self.correct_box(world, x) {
            None => Some(format!(
                "You filed the {name} without measuring it. The task has failed."
            )),
            Some(b) if !world.is_inside(x, b) => Some(format!(
                "The {name} is in the wrong box. The task has failed."
            )),
            Some(_) => None,
        }
    }

    /// The box a measured substance belongs in, by its latest reading.
    pub fn correct_box(&self, world: &World, substance: ObjectId) -> Option<ObjectId> {
        match *self {
            Goal::Measure {
                threshold,
                above,
                below,
                ..
            } => world
                .reading(substance)
                .map(|celsius| if celsius > threshold { above } else { below }),
            _ => None,
        }
    }

    /// The objects focusing on which would be about this task.
    pub fn targets<'a>(&'a self, world: &'a World) -> impl Iterator<Item = ObjectId> + 'a {
        world.ids().filter(move |&id| self.is_target(world, id))
    }

    /// How many sub-goals [`Goal::subgoals`] reports.
    pub fn subgoal_count(&self) -> usize {
        match self {
            Goal::ChangeState { phase, .. } => match phase {
                Phase::Melt | Phase::Boil => 4,
                Phase::Freeze => 3,
            },
            Goal::Measure { .. } => 4,
            Goal::Grow { .. } => 5,
            Goal::Power { switch: None, .. } => 3,
            Goal::Power {
                switch: Some(_), ..
            } => 5,
        }
    }

    /// Which steps of the causal chain hold now, in chain order (the final
    /// confirming focus is not among them).
    pub fn subgoals(&self, world: &World) -> Vec<bool> {
        let any_target = |test: &dyn Fn(ObjectId) -> bool| self.targets(world).any(test);
        match *self {
            Goal::ChangeState { phase, .. } => {
                let reached = any_target(&|x| world.matter(x) == Some(phase.target()));
                match phase {
                    Phase::Melt | Phase::Boil => {
                        let vessel = |x: ObjectId| {
                            world.parent(x).filter(|&p| {
                                world.objects[p].kind == (Kind::Container { heatproof: true })
                            })
                        };
                        let stove_of = |x: ObjectId| {
                            vessel(x)
                                .and_then(|v| world.parent(v))
                                .filter(|&s| matches!(world.objects[s].kind, Kind::Stove { .. }))
                        };
                        vec![
                            any_target(&|x| vessel(x).is_some()),
                            any_target(&|x| stove_of(x).is_some()),
                            any_target(&|x| {
                                stove_of(x).is_some_and(|s| {
                                    matches!(world.objects[s].kind, Kind::Stove { on: true, .. })
                                })
                            }),
                            reached,
                        ]
                    }
                    Phase::Freeze => vec![
                        any_target(&|x| world.root(x) == Place::Carried),
                        any_target(&|x| in_freezer(world, x)),
                        reached,
                    ],
                }
            }
            Goal::Measure { .. } => vec![
                world.ids().any(|o| {
                    world.objects[o].kind == Kind::Thermometer && world.root(o) == Place::Carried
                }),
                any_target(&|x| world.reading(x).is_some()),
                any_target(&|x| world.root(x) == Place::Carried),
                any_target(&|x| {
                    self.correct_box(world, x)
                        .is_some_and(|b| world.is_inside(x, b))
                }),
            ],
            Goal::Grow { species, stage } => {
                let plant = world.ids().find(|&o| {
                    matches!(world.objects[o].kind, Kind::Plant { .. })
                        && world.objects[o].name == species
                });
                let stage_of = |o: ObjectId| match world.objects[o].kind {
                    Kind::Plant { stage, .. } => stage,
                    _ => Stage::Seed,
                };
                let wet = plant.and_then(|p| world.parent(p)).is_some_and(|pot| {
                    matches!(world.objects[pot].kind, Kind::FlowerPot { moisture } if moisture > 0)
                });
                vec![
                    world.ids().any(|o| {
                        world.objects[o].kind == Kind::Soil
                            && world.parent(o).is_some_and(|p| {
                                matches!(world.objects[p].kind, Kind::FlowerPot { .. })
                            })
                    }),
                    plant.is_some(),
                    wet,
                    plant.is_some_and(|p| stage_of(p) >= Stage::Sprout),
                    plant.is_some_and(|p| stage_of(p) >= stage),
                ]
            }
            Goal::Power { device, switch } => {
                let wire_carried = world.ids().any(|o| {
                    world.objects[o].kind == Kind::Wire && world.objects[o].place == Place::Carried
                });
                let wired = |source: Source, part: ObjectId| {
                    world.wiring.iter().any(|c| c.joins(source, part))
                };
                let to_pole = |part: ObjectId| {
                    wired(Source::Pole(Pole::Anode), part)
                        || wired(Source::Pole(Pole::Cathode), part)
                };
                let powered = circuit::is_powered(world, device);
                match switch {
                    None => vec![wire_carried, to_pole(device), powered],
                    Some(s) => vec![
                        wire_carried,
                        to_pole(s),
                        wired(Source::Switch(s), device),
                        to_pole(device),
                        powered,
                    ],
                }
            }
        }
    }
}

/// Whether the object is inside a cooler colder than freezing.
pub fn in_freezer(world: &World, id: ObjectId) -> bool {
    let mut current = id;
    while let Some(parent) = world.parent(current) {
        if matches!(world.objects[parent].kind, Kind::Cooler { target, .. } if target < 0) {
            return true;
        }
        current = parent;
    }
    false
}
