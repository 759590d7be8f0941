//! Problem templates: nine for the training distribution (two or three
//! operations, at most four numbers with a distractor), four unseen ones for
//! the `ood` split (three to five operations, up to six numbers, larger
//! values, new wording such as `apiece`, `evenly`, `change`).
//!
//! A template draws every number and noun from the task's generator and only
//! names from the [`Cast`], so the arithmetic of a task never depends on the
//! episode seed. The word cues a solver can learn sit in the text and in the
//! labels of the numbers: `each`, `every`, `per`, `times as many` (multiply),
//! `in total`, `more`, `older than`, `new` (add), `left`, `spends`, `eats`,
//! `gives`, `die`, `younger than` (subtract), `shares ... equally` (divide).

use crate::problem::{Draft, Op};
use crate::rng::Rng;

/// A person who appears in a problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Person {
    /// First name.
    pub name: &'static str,
    /// Subject pronoun, lower case (`she`).
    pub subject: &'static str,
}

impl Person {
    /// The subject pronoun capitalised, to start a sentence.
    pub fn subject_capitalised(&self) -> &'static str {
        if self.subject == "she" { "She" } else { "He" }
    }
}

const fn person(name: &'static str, subject: &'static str) -> Person {
    Person { name, subject }
}

/// Names used by the training templates.
pub const TRAIN_PEOPLE: [Person; 12] = [
    person("Maria", "she"),
    person("James", "he"),
    person("Aisha", "she"),
    person("Tom", "he"),
    person("Lena", "she"),
    person("Omar", "he"),
    person("Sofia", "she"),
    person("Ravi", "he"),
    person("Emma", "she"),
    person("Diego", "he"),
    person("Yuki", "she"),
    person("Noah", "he"),
];

/// Names used only by the `ood` templates.
pub const OOD_PEOPLE: [Person; 8] = [
    person("Ingrid", "she"),
    person("Kwame", "he"),
    person("Priya", "she"),
    person("Mateo", "he"),
    person("Zara", "she"),
    person("Felix", "he"),
    person("Hana", "she"),
    person("Luca", "he"),
];

/// The people of one episode: four distinct names, drawn from the episode seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cast {
    /// The people, in order of appearance.
    pub people: [Person; 4],
}

impl Cast {
    /// Draws four distinct people from `names` (at least four).
    pub fn draw(rng: &mut Rng, names: &[Person]) -> Cast {
        let mut order: Vec<usize> = (0..names.len()).collect();
        for i in 0..4 {
            let j = i + rng.below((order.len() - i) as u64) as usize;
            order.swap(i, j);
        }
        Cast {
            people: [0, 1, 2, 3].map(|i| names[order[i]]),
        }
    }
}

/// A problem generator for one kind of story.
#[derive(Clone, Copy, Debug)]
pub struct Template {
    /// Short identifier.
    pub name: &'static str,
    /// Writes one problem from the task's generator and the episode's cast;
    /// `None` when the drawn numbers do not make a valid problem.
    pub build: fn(&mut Rng, &Cast) -> Option<Draft>,
}

/// Templates of the training distribution (`train`, `validation`, `test`).
pub const TRAIN_TEMPLATES: [Template; 9] = [
    Template {
        name: "shopping",
        build: shopping,
    },
    Template {
        name: "trip",
        build: trip,
    },
    Template {
        name: "baking",
        build: baking,
    },
    Template {
        name: "ages",
        build: ages,
    },
    Template {
        name: "savings",
        build: savings,
    },
    Template {
        name: "collection",
        build: collection,
    },
    Template {
        name: "reading",
        build: reading,
    },
    Template {
        name: "bill",
        build: bill,
    },
    Template {
        name: "garden",
        build: garden,
    },
];

/// Templates of the `ood` split, never used in training.
pub const OOD_TEMPLATES: [Template; 4] = [
    Template {
        name: "outfit",
        build: outfit,
    },
    Template {
        name: "concert",
        build: concert,
    },
    Template {
        name: "tank",
        build: tank,
    },
    Template {
        name: "warehouse",
        build: warehouse,
    },
];

const ITEMS: [&str; 10] = [
    "notebooks",
    "pencils",
    "apples",
    "candles",
    "mugs",
    "stickers",
    "oranges",
    "markers",
    "cupcakes",
    "postcards",
];
const THINGS: [&str; 8] = [
    "pen", "bag", "lamp", "hat", "scarf", "book", "ruler", "plant",
];
const VEHICLES: [&str; 6] = ["bus", "train", "truck", "car", "van", "ferry"];
const TREATS: [&str; 4] = ["cookies", "muffins", "brownies", "rolls"];
const COLLECTIBLES: [&str; 6] = ["marbles", "shells", "stamps", "cards", "coins", "beads"];
const DAYS: [(&str, &str); 4] = [
    ("Monday", "Tuesday"),
    ("Wednesday", "Thursday"),
    ("Friday", "Saturday"),
    ("Saturday", "Sunday"),
];

/// A value in `low..=high`, or `None` when the range is empty.
fn between(rng: &mut Rng, low: u64, high: u64) -> Option<u64> {
    (low <= high).then(|| rng.range(low, high))
}

fn shopping(rng: &mut Rng, cast: &Cast) -> Option<Draft> {
    let buyer = cast.people[0];
    let (name, he, he_capital) = (buyer.name, buyer.subject, buyer.subject_capitalised());
    let (items, thing) = (*rng.pick(&ITEMS), *rng.pick(&THINGS));
    let (count, price, extra) = (rng.range(2, 9), rng.range(2, 15), rng.range(2, 30));
    let money = count * price + extra + rng.range(2, 60);
    let extra_label = format!("dollars for the {thing}");
    let mut draft = Draft::new();
    if rng.chance(1, 2) {
        draft.state(
            format!("{name} has {money} dollars."),
            &[(money, "dollars")],
        );
        draft.state(
            format!(
                "{he_capital} buys {count} {items} that cost {price} dollars each and a {thing} that costs {extra} dollars."
            ),
            &[(count, items), (price, "dollars each"), (extra, &extra_label)],
        );
        draft.ask(format!("How many dollars does {he} have left?"), &[]);
    } else {
        draft.state(
            format!("{name} goes to the shop with {money} dollars."),
            &[(money, "dollars")],
        );
        draft.state(
            format!(
                "{he_capital} gets {count} {items} for {price} dollars each, plus a {thing} for {extra} dollars."
            ),
            &[(count, items), (price, "dollars each"), (extra, &extra_label)],
        );
        draft.ask("How many dollars remain?".into(), &[]);
    }
    let cost = draft.compute(Op::Multiply, count, price)?;
    let spent = draft.compute(Op::Add, cost, extra)?;
    draft.compute(Op::Subtract, money, spent)?;
    Some(draft)
}

fn trip(rng: &mut Rng, _cast: &Cast) -> Option<Draft> {
    let vehicle = *rng.pick(&VEHICLES);
    let (speed, hours, more) = (rng.range(20, 75), rng.range(2, 9), rng.range(5, 99));
    let mut draft = Draft::new();
    if rng.chance(1, 2) {
        draft.state(
            format!("A {vehicle} travels at {speed} miles per hour for {hours} hours."),
            &[(speed, "miles per hour"), (hours, "hours")],
        );
        draft.state(
            format!("Then it travels {more} more miles."),
            &[(more, "more miles")],
        );
        draft.ask("How many miles does it travel in total?".into(), &[]);
    } else {
        draft.state(
            format!(
                "A {vehicle} drives for {hours} hours at {speed} miles per hour, then {more} more miles."
            ),
            &[(hours, "hours"), (speed, "miles per hour"), (more, "more miles")],
        );
        draft.ask("What is the total distance in miles?".into(), &[]);
    }
    let first_leg = draft.compute(Op::Multiply, speed, hours)?;
    draft.compute(Op::Add, first_leg, more)?;
    Some(draft)
}

fn baking(rng: &mut Rng, cast: &Cast) -> Option<Draft> {
    let baker = cast.people[0];
    let treats = *rng.pick(&TREATS);
    let (trays, per_tray, friends) = (rng.range(2, 9), rng.range(4, 24), rng.range(2, 9));
    let baked = trays * per_tray;
    let share = between(rng, 2, baked.saturating_sub(2) / friends)?;
    let eaten = baked.checked_sub(friends * share)?;
    let per_tray_label = format!("{treats} on each tray");
    let eaten_label = format!("{treats} eaten");
    let mut draft = Draft::new();
    if rng.chance(1, 2) {
        draft.state(
            format!(
                "{} bakes {trays} trays with {per_tray} {treats} on each tray.",
                baker.name
            ),
            &[(trays, "trays"), (per_tray, &per_tray_label)],
        );
        draft.state(
            format!(
                "{} eats {eaten} {treats} and shares the rest equally among {friends} friends.",
                baker.subject_capitalised()
            ),
            &[(eaten, &eaten_label), (friends, "friends")],
        );
    } else {
        draft.state(
            format!(
                "{} makes {trays} trays of {per_tray} {treats} each.",
                baker.name
            ),
            &[(trays, "trays"), (per_tray, &per_tray_label)],
        );
        draft.state(
            format!(
                "After eating {eaten} of them, {} shares the rest equally among {friends} friends.",
                baker.subject
            ),
            &[(eaten, &eaten_label), (friends, "friends")],
        );
    }
    draft.ask(format!("How many {treats} does each friend get?"), &[]);
    let total = draft.compute(Op::Multiply, trays, per_tray)?;
    let rest = draft.compute(Op::Subtract, total, eaten)?;
    draft.compute(Op::Divide, rest, friends)?;
    Some(draft)
}

fn ages(rng: &mut Rng, cast: &Cast) -> Option<Draft> {
    let [elder, other, ..] = cast.people;
    let older = rng.chance(1, 2);
    let age = if older {
        rng.range(5, 50)
    } else {
        rng.range(20, 80)
    };
    let gap = if older {
        rng.range(2, 20)
    } else {
        rng.range(2, age - 5)
    };
    let later = rng.range(2, 15);
    let (relation, gap_label, op) = if older {
        ("older", "years older", Op::Add)
    } else {
        ("younger", "years younger", Op::Subtract)
    };
    let (a, b) = (elder.name, other.name);
    let mut draft = Draft::new();
    if rng.chance(1, 2) {
        draft.state(format!("{a} is {age} years old."), &[(age, "years old")]);
        draft.state(
            format!("{b} is {gap} years {relation} than {a}."),
            &[(gap, gap_label)],
        );
        draft.ask(
            format!("How old will {b} be in {later} years?"),
            &[(later, "years from now")],
        );
    } else {
        draft.state(
            format!("{b} is {gap} years {relation} than {a}, who is {age} years old."),
            &[(gap, gap_label), (age, "years old")],
        );
        draft.ask(
            format!("How old will {b} be {later} years from now?"),
            &[(later, "years from now")],
        );
    }
    let now = draft.compute(op, age, gap)?;
    draft.compute(Op::Add, now, later)?;
    Some(draft)
}

fn savings(rng: &mut Rng, cast: &Cast) -> Option<Draft> {
    let saver = cast.people[0];
    let thing = *rng.pick(&THINGS);
    let (weekly, weeks) = (rng.range(3, 40), rng.range(2, 12));
    let spent = rng.range(2, weekly * weeks - 2);
    let mut draft = Draft::new();
    if rng.chance(1, 2) {
        draft.state(
            format!(
                "{} saves {weekly} dollars every week for {weeks} weeks.",
                saver.name
            ),
            &[(weekly, "dollars every week"), (weeks, "weeks")],
        );
        draft.state(
            format!(
                "Then {} spends {spent} dollars on a {thing}.",
                saver.subject
            ),
            &[(spent, "dollars spent")],
        );
        draft.ask(
            format!("How many dollars does {} have left?", saver.subject),
            &[],
        );
    } else {
        draft.state(
            format!(
                "For {weeks} weeks, {} puts {weekly} dollars into a piggy bank every week.",
                saver.name
            ),
            &[(weeks, "weeks"), (weekly, "dollars every week")],
        );
        draft.state(
            format!(
                "{} spends {spent} dollars of it on a {thing}.",
                saver.subject_capitalised()
            ),
            &[(spent, "dollars spent")],
        );
        draft.ask("How many dollars are left in the piggy bank?".into(), &[]);
    }
    let saved = draft.compute(Op::Multiply, weekly, weeks)?;
    draft.compute(Op::Subtract, saved, spent)?;
    Some(draft)
}

fn collection(rng: &mut Rng, cast: &Cast) -> Option<Draft> {
    let [first, second, third, _] = cast.people;
    let (a, b, c) = (first.name, second.name, third.name);
    let things = *rng.pick(&COLLECTIBLES);
    let (count, times) = (rng.range(3, 40), rng.range(2, 7));
    let given = between(rng, 2, count * times - 2)?;
    let given_label = format!("{things} given away");
    let mut draft = Draft::new();
    if rng.chance(1, 2) {
        draft.state(format!("{a} has {count} {things}."), &[(count, things)]);
        draft.state(
            format!("{b} has {times} times as many {things} as {a}."),
            &[(times, "times as many")],
        );
        draft.state(
            format!("{b} gives {given} {things} to {c}."),
            &[(given, &given_label)],
        );
    } else {
        draft.state(
            format!("{b} owns {times} times as many {things} as {a}, who owns {count}."),
            &[(times, "times as many"), (count, things)],
        );
        draft.state(
            format!("{b} gives away {given} {things}."),
            &[(given, &given_label)],
        );
    }
    draft.ask(format!("How many {things} does {b} have left?"), &[]);
    let owned = draft.compute(Op::Multiply, count, times)?;
    draft.compute(Op::Subtract, owned, given)?;
    Some(draft)
}

fn reading(rng: &mut Rng, cast: &Cast) -> Option<Draft> {
    let reader = cast.people[0];
    let (day, next_day) = *rng.pick(&DAYS);
    let (first, second) = (rng.range(5, 90), rng.range(5, 90));
    let pages = first + second + rng.range(2, 300);
    let first_label = format!("pages on {day}");
    let second_label = format!("pages on {next_day}");
    let mut draft = Draft::new();
    if rng.chance(1, 2) {
        draft.state(
            format!("A book has {pages} pages."),
            &[(pages, "pages in the book")],
        );
        draft.state(
            format!(
                "{} reads {first} pages on {day} and {second} pages on {next_day}.",
                reader.name
            ),
            &[(first, &first_label), (second, &second_label)],
        );
        draft.ask(
            format!("How many pages does {} have left to read?", reader.subject),
            &[],
        );
    } else {
        draft.state(
            format!(
                "{} reads {first} pages of a book on {day} and {second} pages on {next_day}.",
                reader.name
            ),
            &[(first, &first_label), (second, &second_label)],
        );
        draft.state(
            format!("The book has {pages} pages in total."),
            &[(pages, "pages in the book")],
        );
        draft.ask("How many pages are left?".into(), &[]);
    }
    let read = draft.compute(Op::Add, first, second)?;
    draft.compute(Op::Subtract, pages, read)?;
    Some(draft)
}

fn garden(rng: &mut Rng, cast: &Cast) -> Option<Draft> {
    let gardener = cast.people[0].name;
    let (rows, per_row) = (rng.range(2, 12), rng.range(3, 20));
    let died = between(rng, 2, rows * per_row - 2)?;
    let planted = rng.range(2, 40);
    let mut draft = Draft::new();
    if rng.chance(1, 2) {
        draft.state(
            format!("A garden has {rows} rows with {per_row} plants in each row."),
            &[(rows, "rows"), (per_row, "plants in each row")],
        );
        draft.state(
            format!("{died} plants die, and {gardener} plants {planted} new ones."),
            &[(died, "plants die"), (planted, "new plants")],
        );
        draft.ask("How many plants are in the garden now?".into(), &[]);
    } else {
        draft.state(
            format!("There are {rows} rows of {per_row} plants each in a garden."),
            &[(rows, "rows"), (per_row, "plants in each row")],
        );
        draft.state(
            format!("After {died} plants die, {gardener} adds {planted} new plants."),
            &[(died, "plants die"), (planted, "new plants")],
        );
        draft.ask("How many plants does the garden have now?".into(), &[]);
    }
    let grown = draft.compute(Op::Multiply, rows, per_row)?;
    let alive = draft.compute(Op::Subtract, grown, died)?;
    draft.compute(Op::Add, alive, planted)?;
    Some(draft)
}

fn bill(rng: &mut Rng, _cast: &Cast) -> Option<Draft> {
    let (friends, share, tip) = (rng.range(2, 9), rng.range(4, 99), rng.range(2, 25));
    let total = friends * share;
    let mut draft = Draft::new();
    if rng.chance(1, 2) {
        draft.state(
            format!("{friends} friends share a bill of {total} dollars equally."),
            &[(friends, "friends"), (total, "dollars for the bill")],
        );
        draft.state(
            format!("Each friend also pays a tip of {tip} dollars."),
            &[(tip, "dollars tip")],
        );
    } else {
        draft.state(
            format!("A dinner bill of {total} dollars is shared equally by {friends} friends."),
            &[(total, "dollars for the bill"), (friends, "friends")],
        );
        draft.state(
            format!("On top of that, each friend leaves a {tip} dollar tip."),
            &[(tip, "dollars tip")],
        );
    }
    draft.ask(
        "How many dollars does each friend pay in total?".into(),
        &[],
    );
    let each = draft.compute(Op::Divide, total, friends)?;
    draft.compute(Op::Add, each, tip)?;
    Some(draft)
}

fn outfit(rng: &mut Rng, cast: &Cast) -> Option<Draft> {
    let buyer = cast.people[0];
    let (shirts, shirt_price) = (rng.range(2, 12), rng.range(8, 60));
    let (hats, hat_price) = (rng.range(2, 12), rng.range(5, 40));
    let cost = shirts * shirt_price + hats * hat_price;
    let paid = (cost / 100 + 1 + rng.range(0, 4)) * 100;
    let mut draft = Draft::new();
    draft.state(
        format!(
            "{} buys {shirts} shirts at {shirt_price} dollars each and {hats} hats at {hat_price} dollars each.",
            buyer.name
        ),
        &[
            (shirts, "shirts"),
            (shirt_price, "dollars each shirt"),
            (hats, "hats"),
            (hat_price, "dollars each hat"),
        ],
    );
    draft.state(
        format!("{} pays with {paid} dollars.", buyer.subject_capitalised()),
        &[(paid, "dollars paid")],
    );
    draft.ask(format!("How much change does {} get?", buyer.subject), &[]);
    let shirts_cost = draft.compute(Op::Multiply, shirts, shirt_price)?;
    let hats_cost = draft.compute(Op::Multiply, hats, hat_price)?;
    let total = draft.compute(Op::Add, shirts_cost, hats_cost)?;
    draft.compute(Op::Subtract, paid, total)?;
    Some(draft)
}

fn concert(rng: &mut Rng, _cast: &Cast) -> Option<Draft> {
    let (friday, saturday, price) = (rng.range(40, 400), rng.range(40, 400), rng.range(5, 40));
    let members = rng.range(3, 9);
    let takings = (friday + saturday) * price;
    let share = between(rng, 20, (takings / members).saturating_sub(20))?;
    let rent = takings.checked_sub(share * members)?;
    let mut draft = Draft::new();
    draft.state(
        format!("A band sells {friday} tickets on Friday and {saturday} tickets on Saturday."),
        &[
            (friday, "tickets on Friday"),
            (saturday, "tickets on Saturday"),
        ],
    );
    draft.state(
        format!("Every ticket costs {price} dollars."),
        &[(price, "dollars per ticket")],
    );
    draft.state(
        format!(
            "After paying {rent} dollars for the hall, the band splits the money evenly between its {members} members."
        ),
        &[(rent, "dollars for the hall"), (members, "members")],
    );
    draft.ask("How many dollars does every member receive?".into(), &[]);
    let tickets = draft.compute(Op::Add, friday, saturday)?;
    let takings = draft.compute(Op::Multiply, tickets, price)?;
    let profit = draft.compute(Op::Subtract, takings, rent)?;
    draft.compute(Op::Divide, profit, members)?;
    Some(draft)
}

fn tank(rng: &mut Rng, _cast: &Cast) -> Option<Draft> {
    let (rate, minutes, current) = (rng.range(10, 60), rng.range(5, 30), rng.range(50, 900));
    let capacity = current + rate * minutes + rng.range(20, 900);
    let mut draft = Draft::new();
    draft.state(
        format!("A tank holds {capacity} liters."),
        &[(capacity, "liters capacity")],
    );
    draft.state(
        format!("It already contains {current} liters."),
        &[(current, "liters already")],
    );
    draft.state(
        format!("A pump adds {rate} liters per minute for {minutes} minutes."),
        &[(rate, "liters per minute"), (minutes, "minutes")],
    );
    draft.ask(
        "How many more liters are needed to fill the tank?".into(),
        &[],
    );
    let pumped = draft.compute(Op::Multiply, rate, minutes)?;
    let contained = draft.compute(Op::Add, current, pumped)?;
    draft.compute(Op::Subtract, capacity, contained)?;
    Some(draft)
}

fn warehouse(rng: &mut Rng, _cast: &Cast) -> Option<Draft> {
    let (shelves, per_shelf) = (rng.range(5, 40), rng.range(6, 50));
    let (crates, per_crate) = (rng.range(3, 30), rng.range(6, 40));
    let stores = rng.range(3, 12);
    let stock = shelves * per_shelf + crates * per_crate;
    let each = between(rng, 10, (stock / stores).saturating_sub(10))?;
    let kept = stock.checked_sub(each * stores)?;
    let mut draft = Draft::new();
    draft.state(
        format!("A warehouse stores {shelves} shelves holding {per_shelf} boxes apiece."),
        &[(shelves, "shelves"), (per_shelf, "boxes apiece")],
    );
    draft.state(
        format!("A truck delivers {crates} crates, with {per_crate} boxes packed in every crate."),
        &[(crates, "crates"), (per_crate, "boxes in every crate")],
    );
    draft.state(
        format!(
            "The warehouse keeps {kept} boxes and divides the remaining boxes evenly among {stores} stores."
        ),
        &[(kept, "boxes kept"), (stores, "stores")],
    );
    draft.ask("How many boxes does every store receive?".into(), &[]);
    let shelved = draft.compute(Op::Multiply, shelves, per_shelf)?;
    let delivered = draft.compute(Op::Multiply, crates, per_crate)?;
    let stock = draft.compute(Op::Add, shelved, delivered)?;
    let shipped = draft.compute(Op::Subtract, stock, kept)?;
    draft.compute(Op::Divide, shipped, stores)?;
    Some(draft)
}

/// Irrelevant facts a training problem may state (text pattern, label, range).
const DISTRACTORS: [(&str, &str, u64, u64); 4] = [
    ("{name} is {n} years old.", "years old", 6, 60),
    ("The shop is {n} miles away.", "miles away", 2, 40),
    ("It is {n} degrees outside.", "degrees", 2, 35),
    ("{name} has {n} cousins.", "cousins", 2, 12),
];

/// Adds an irrelevant sentence with a number to `draft`, at a random place
/// among its statements, naming the last person of the cast.
pub fn distract(draft: &mut Draft, rng: &mut Rng, cast: &Cast) {
    let (pattern, label, low, high) = *rng.pick(&DISTRACTORS);
    let value = rng.range(low, high);
    let text = pattern
        .replace("{name}", cast.people[3].name)
        .replace("{n}", &value.to_string());
    let position = rng.below(draft.statement_count() as u64 + 1) as usize;
    draft.distract(position, text, value, label);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::MAX_GIVENS;

    fn cast() -> Cast {
        Cast::draw(&mut Rng::from_words(&[1]), &TRAIN_PEOPLE)
    }

    fn valid_problems(template: &Template, draws: u64) -> Vec<crate::problem::Problem> {
        (0..draws)
            .filter_map(|i| (template.build)(&mut Rng::from_words(&[i]), &cast()))
            .filter_map(|draft| draft.finish(template.name))
            .collect()
    }

    #[test]
    fn every_template_mostly_draws_valid_problems() {
        for template in TRAIN_TEMPLATES.iter().chain(&OOD_TEMPLATES) {
            let valid = valid_problems(template, 200).len();
            assert!(valid >= 60, "{}: {valid} of 200 valid", template.name);
        }
    }

    #[test]
    fn training_templates_take_two_or_three_steps_and_ood_three_to_five() {
        let limits = [
            (&TRAIN_TEMPLATES[..], 2..=3, 4),
            (&OOD_TEMPLATES[..], 3..=5, MAX_GIVENS),
        ];
        for (templates, steps, most_givens) in limits {
            for template in templates {
                for problem in valid_problems(template, 50) {
                    assert!(steps.contains(&problem.solution.len()), "{}", template.name);
                    assert!(problem.givens.len() <= most_givens, "{}", template.name);
                }
            }
        }
    }

    #[test]
    fn templates_are_deterministic_in_their_generator() {
        for template in TRAIN_TEMPLATES.iter().chain(&OOD_TEMPLATES) {
            assert_eq!(valid_problems(template, 20), valid_problems(template, 20));
        }
    }

    #[test]
    fn cast_has_four_distinct_people() {
        for seed in 0..50 {
            let cast = Cast::draw(&mut Rng::from_words(&[seed]), &OOD_PEOPLE);
            for (i, person) in cast.people.iter().enumerate() {
                assert!(!cast.people[..i].contains(person));
            }
        }
    }

    #[test]
    fn distractor_adds_one_number_without_changing_the_answer() {
        let mut rng = Rng::from_words(&[5]);
        let draft = (TRAIN_TEMPLATES[1].build)(&mut rng, &cast()).unwrap();
        let plain = draft.finish("trip").unwrap();
        let mut distracted = draft.clone();
        distract(&mut distracted, &mut rng, &cast());
        assert_eq!(distracted.given_count(), plain.givens.len() + 1);
        if let Some(problem) = distracted.finish("trip") {
            assert_eq!(problem.answer(), plain.answer());
            assert_eq!(problem.key, plain.key);
        }
    }
}
