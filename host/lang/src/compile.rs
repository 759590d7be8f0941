//! Compiles a program to a WebAssembly component implementing the
//! `derl:plugin/reward-program` world: a hand-assembled core module (memory,
//! a bump allocator, the two lifted exports) wrapped by wit-component. The
//! component imports nothing.

use crate::ast::{BinaryOp, Expr, Program};
use std::sync::OnceLock;
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, DataSection, ExportKind, ExportSection, Function,
    FunctionSection, GlobalSection, GlobalType, Ieee64, InstructionSink, MemArg, MemArgTarget,
    MemorySection, MemoryType, Module, TypeSection, ValType,
};
use wit_component::{ComponentEncoder, StringEncoding};
use wit_parser::{Resolve, SourceMap, WorldId};

/// The latest WIT contract (`derl_env_api::contract::VERSION`), embedded so the
/// crate needs no files at run time.
const TYPES_WIT: &str = include_str!("../../../wit/v0.3.0/types.wit");
const TEXT_WIT: &str = include_str!("../../../wit/v0.3.0/text.wit");
const WORLDS_WIT: &str = include_str!("../../../wit/v0.3.0/worlds.wit");
const WORLD: &str = "reward-program";
use derl_env_api::contract::REWARD_INTERFACE;

/// Why a program could not be compiled. A program accepted by
/// [`crate::parse`] always compiles; these report a broken build (the
/// embedded WIT) or a bug in the generated code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// The embedded WIT of the reward world does not load.
    #[error("the reward world's WIT does not load: {0}")]
    Wit(String),
    /// wit-component refused the generated core module.
    #[error("wit-component refused the generated module: {0}")]
    Component(String),
}

/// Compiles `program` to a reward component (the bytes of a WebAssembly
/// component). Its `score` computes [`Program::score`] bit for bit (the
/// same operations in the same order), `err` messages included; its
/// `describe` returns the normalized text and [`Program::min_stride`]. The
/// same program always gives the same bytes.
///
/// # Errors
/// [`CompileError`], which indicates a broken build rather than a bad program.
pub fn compile(program: &Program) -> Result<Vec<u8>, CompileError> {
    let (resolve, world) = reward_world()?;
    let mut module = core_module(program);
    wit_component::embed_component_metadata(
        &mut module,
        resolve,
        *world,
        StringEncoding::UTF8,
        false,
    )
    .map_err(|e| CompileError::Component(format!("{e:#}")))?;
    ComponentEncoder::default()
        .validate(true)
        .module(&module)
        .and_then(|encoder| encoder.encode())
        .map_err(|e| CompileError::Component(format!("{e:#}")))
}

/// The reward world, resolved once per process.
fn reward_world() -> Result<&'static (Resolve, WorldId), CompileError> {
    static WORLD_CACHE: OnceLock<Result<(Resolve, WorldId), String>> = OnceLock::new();
    WORLD_CACHE
        .get_or_init(|| {
            let mut sources = SourceMap::new();
            sources.push_str("wit/types.wit", TYPES_WIT);
            sources.push_str("wit/text.wit", TEXT_WIT);
            sources.push_str("wit/worlds.wit", WORLDS_WIT);
            let group = sources.parse().map_err(|(_, e)| e.to_string())?;
            let mut resolve = Resolve::new();
            let package = resolve.push_group(group).map_err(|e| e.to_string())?;
            let world = resolve
                .select_world(&[package], Some(WORLD))
                .map_err(|e| format!("{e:#}"))?;
            Ok((resolve, world))
        })
        .as_ref()
        .map_err(|e| CompileError::Wit(e.clone()))
}

// Memory layout: a 16-byte return area, then the static strings (the
// description and the pieces of error messages), then the heap.
const RETURN_AREA: i32 = 16;
const STATIC_BASE: u32 = 32;
const PAGE: u32 = 65536;

// Function indices.
const F_REALLOC: u32 = 0;
const F_SCORE: u32 = 1;
const F_DESCRIBE: u32 = 2;
const F_WRITE_U32: u32 = 3;

// Global index of the heap pointer.
const G_HEAP: u32 = 0;

// Locals of `score` (parameters first).
const L_STRIDE: u32 = 0;
const L_VALUES: u32 = 1;
const L_LEN: u32 = 2;
const L_ROWS: u32 = 3;
const L_ROW: u32 = 4;
const L_OUT: u32 = 5;
const L_CUR: u32 = 6;
const L_END: u32 = 7;
const L_ROW_BYTES: u32 = 8;
const L_T0: u32 = 9;
const L_T1: u32 = 10;

fn mem(offset: u64, align: u32) -> MemArg {
    MemArg {
        offset,
        align,
        target: MemArgTarget::Memory(0),
        ordering: None,
    }
}

/// Static bytes placed in memory at [`STATIC_BASE`].
#[derive(Default)]
struct Statics {
    bytes: Vec<u8>,
}

impl Statics {
    /// Adds `text`, returning its address and length.
    fn add(&mut self, text: &str) -> (i32, i32) {
        let address = STATIC_BASE as usize + self.bytes.len();
        self.bytes.extend_from_slice(text.as_bytes());
        (address as i32, text.len() as i32)
    }
}

/// A piece of an error message: static text or a decimal `u32` local.
enum Piece {
    Text(i32, i32),
    Number(u32),
}

/// Builds the core module: imports nothing, exports `memory`,
/// `cabi_realloc`, and the lifted `score` and `describe`.
fn core_module(program: &Program) -> Vec<u8> {
    let mut statics = Statics::default();
    let description = statics.add(&program.normalized());
    let min_stride = program.min_stride() as i32;
    let messages = ErrorMessages {
        stride_too_small: statics.add(&format!(
            "the program reads primitives up to g{min_stride} but the batch's stride is "
        )),
        batch_of: statics.add("a batch of "),
        needs_stride: statics.add(" values needs a non-zero stride"),
        not_whole: statics.add(" values is not a whole number of rows of stride "),
    };
    let heap_base = (STATIC_BASE as usize + statics.bytes.len()).next_multiple_of(8) as u32;
    let pages = heap_base.div_ceil(PAGE).max(1);

    let mut types = TypeSection::new();
    types.ty().function(
        [ValType::I32, ValType::I32, ValType::I32, ValType::I32],
        [ValType::I32],
    );
    types
        .ty()
        .function([ValType::I32, ValType::I32, ValType::I32], [ValType::I32]);
    types.ty().function([], [ValType::I32]);
    types
        .ty()
        .function([ValType::I32, ValType::I32], [ValType::I32]);

    let mut functions = FunctionSection::new();
    functions.function(0).function(1).function(2).function(3);

    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: u64::from(pages),
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });

    let mut globals = GlobalSection::new();
    globals.global(
        GlobalType {
            val_type: ValType::I32,
            mutable: true,
            shared: false,
        },
        &ConstExpr::i32_const(heap_base as i32),
    );

    let mut exports = ExportSection::new();
    exports
        .export("memory", ExportKind::Memory, 0)
        .export("cabi_realloc", ExportKind::Func, F_REALLOC)
        .export(
            &format!("{REWARD_INTERFACE}#score"),
            ExportKind::Func,
            F_SCORE,
        )
        .export(
            &format!("{REWARD_INTERFACE}#describe"),
            ExportKind::Func,
            F_DESCRIBE,
        );

    let mut code = CodeSection::new();
    code.function(&realloc_function());
    code.function(&score_function(program, min_stride, &messages));
    code.function(&describe_function(description, min_stride));
    code.function(&write_u32_function());

    let mut data = DataSection::new();
    data.active(
        0,
        &ConstExpr::i32_const(STATIC_BASE as i32),
        statics.bytes.iter().copied(),
    );

    let mut module = Module::new();
    module
        .section(&types)
        .section(&functions)
        .section(&memories)
        .section(&globals)
        .section(&exports)
        .section(&code)
        .section(&data);
    module.finish()
}

/// `cabi_realloc(old_ptr, old_size, align, new_size) -> ptr`: a bump
/// allocator that grows memory as needed (trapping when it cannot) and copies
/// the old contents on reallocation.
fn realloc_function() -> Function {
    const OLD_PTR: u32 = 0;
    const OLD_SIZE: u32 = 1;
    const ALIGN: u32 = 2;
    const NEW_SIZE: u32 = 3;
    const PTR: u32 = 4;
    const END: u32 = 5;
    const MEMORY: u32 = 6;
    let mut f = Function::new([(1, ValType::I32), (2, ValType::I64)]);
    let mut s = f.instructions();
    // ptr = (heap + align - 1) & -align
    s.global_get(G_HEAP)
        .local_get(ALIGN)
        .i32_add()
        .i32_const(1)
        .i32_sub()
        .i32_const(0)
        .local_get(ALIGN)
        .i32_sub()
        .i32_and()
        .local_set(PTR);
    // end = ptr + new_size, in 64 bits so it cannot wrap.
    s.local_get(PTR)
        .i64_extend_i32_u()
        .local_get(NEW_SIZE)
        .i64_extend_i32_u()
        .i64_add()
        .local_set(END);
    s.memory_size(0)
        .i64_extend_i32_u()
        .i64_const(16)
        .i64_shl()
        .local_set(MEMORY);
    s.local_get(END)
        .local_get(MEMORY)
        .i64_gt_u()
        .if_(BlockType::Empty);
    s.local_get(END)
        .local_get(MEMORY)
        .i64_sub()
        .i64_const(i64::from(PAGE - 1))
        .i64_add()
        .i64_const(16)
        .i64_shr_u()
        .i32_wrap_i64()
        .memory_grow(0)
        .i32_const(-1)
        .i32_eq()
        .if_(BlockType::Empty)
        .unreachable()
        .end();
    s.end();
    s.local_get(END).i32_wrap_i64().global_set(G_HEAP);
    // Copy min(old_size, new_size) bytes from a previous allocation.
    s.local_get(OLD_PTR).if_(BlockType::Empty);
    s.local_get(PTR)
        .local_get(OLD_PTR)
        .local_get(OLD_SIZE)
        .local_get(NEW_SIZE)
        .local_get(OLD_SIZE)
        .local_get(NEW_SIZE)
        .i32_lt_u()
        .select()
        .memory_copy(0, 0);
    s.end();
    s.local_get(PTR).end();
    f
}

/// `write_u32(dst, value) -> end`: writes `value` in decimal at `dst`.
fn write_u32_function() -> Function {
    const DST: u32 = 0;
    const VALUE: u32 = 1;
    const N: u32 = 2;
    const END: u32 = 3;
    let mut f = Function::new([(2, ValType::I32)]);
    let mut s = f.instructions();
    // END = DST + number of digits.
    s.local_get(VALUE).local_set(N);
    s.local_get(DST).i32_const(1).i32_add().local_set(END);
    s.block(BlockType::Empty).loop_(BlockType::Empty);
    s.local_get(N).i32_const(10).i32_lt_u().br_if(1);
    s.local_get(N).i32_const(10).i32_div_u().local_set(N);
    s.local_get(END).i32_const(1).i32_add().local_set(END);
    s.br(0).end().end();
    // Digits from the last one backwards; N walks down from END.
    s.local_get(END).local_set(N);
    s.loop_(BlockType::Empty);
    s.local_get(N).i32_const(1).i32_sub().local_tee(N);
    s.local_get(VALUE)
        .i32_const(10)
        .i32_rem_u()
        .i32_const(i32::from(b'0'))
        .i32_add()
        .i32_store8(mem(0, 0));
    s.local_get(VALUE)
        .i32_const(10)
        .i32_div_u()
        .local_tee(VALUE);
    s.br_if(0).end();
    s.local_get(END).end();
    f
}

/// The static parts of `score`'s error messages.
struct ErrorMessages {
    stride_too_small: (i32, i32),
    batch_of: (i32, i32),
    needs_stride: (i32, i32),
    not_whole: (i32, i32),
}

/// Emits: build the message from `pieces` in fresh memory, store
/// `err(message)` in the return area and return it.
fn return_error(s: &mut InstructionSink<'_>, pieces: &[Piece]) {
    let capacity: i32 = pieces
        .iter()
        .map(|p| match p {
            Piece::Text(_, len) => *len,
            Piece::Number(_) => 10,
        })
        .sum();
    s.i32_const(0)
        .i32_const(0)
        .i32_const(1)
        .i32_const(capacity)
        .call(F_REALLOC)
        .local_tee(L_OUT)
        .local_set(L_CUR);
    for piece in pieces {
        match piece {
            Piece::Text(address, len) => {
                s.local_get(L_CUR)
                    .i32_const(*address)
                    .i32_const(*len)
                    .memory_copy(0, 0);
                s.local_get(L_CUR)
                    .i32_const(*len)
                    .i32_add()
                    .local_set(L_CUR);
            }
            Piece::Number(local) => {
                s.local_get(L_CUR)
                    .local_get(*local)
                    .call(F_WRITE_U32)
                    .local_set(L_CUR);
            }
        }
    }
    s.i32_const(RETURN_AREA).i32_const(1).i32_store8(mem(0, 0));
    s.i32_const(RETURN_AREA)
        .local_get(L_OUT)
        .i32_store(mem(4, 2));
    s.i32_const(RETURN_AREA)
        .local_get(L_CUR)
        .local_get(L_OUT)
        .i32_sub()
        .i32_store(mem(8, 2));
    s.i32_const(RETURN_AREA).return_();
}

/// Emits: store `ok(list at L_OUT of L_ROWS values)` and return it.
fn return_ok(s: &mut InstructionSink<'_>) {
    s.i32_const(RETURN_AREA).i32_const(0).i32_store8(mem(0, 0));
    s.i32_const(RETURN_AREA)
        .local_get(L_OUT)
        .i32_store(mem(4, 2));
    s.i32_const(RETURN_AREA)
        .local_get(L_ROWS)
        .i32_store(mem(8, 2));
    s.i32_const(RETURN_AREA).return_();
}

/// `score(stride, values_ptr, values_len) -> return area` of
/// `result<list<f64>, string>`.
fn score_function(program: &Program, min_stride: i32, messages: &ErrorMessages) -> Function {
    let mut f = Function::new([(6, ValType::I32), (2, ValType::F64)]);
    let mut s = f.instructions();
    let text = |(address, len): (i32, i32)| Piece::Text(address, len);
    // stride < min_stride (even for an empty batch).
    if min_stride > 0 {
        s.local_get(L_STRIDE)
            .i32_const(min_stride)
            .i32_lt_u()
            .if_(BlockType::Empty);
        return_error(
            &mut s,
            &[text(messages.stride_too_small), Piece::Number(L_STRIDE)],
        );
        s.end();
    }
    // stride == 0: fine for an empty batch only.
    s.local_get(L_STRIDE).i32_eqz().if_(BlockType::Empty);
    s.local_get(L_LEN).if_(BlockType::Empty);
    return_error(
        &mut s,
        &[
            text(messages.batch_of),
            Piece::Number(L_LEN),
            text(messages.needs_stride),
        ],
    );
    s.end();
    s.i32_const(8).local_set(L_OUT);
    s.i32_const(0).local_set(L_ROWS);
    return_ok(&mut s);
    s.end();
    // A whole number of rows.
    s.local_get(L_LEN)
        .local_get(L_STRIDE)
        .i32_rem_u()
        .if_(BlockType::Empty);
    return_error(
        &mut s,
        &[
            text(messages.batch_of),
            Piece::Number(L_LEN),
            text(messages.not_whole),
            Piece::Number(L_STRIDE),
        ],
    );
    s.end();
    // rows = len / stride; out = alloc(rows * 8); one value per row.
    s.local_get(L_LEN)
        .local_get(L_STRIDE)
        .i32_div_u()
        .local_set(L_ROWS);
    s.i32_const(0)
        .i32_const(0)
        .i32_const(8)
        .local_get(L_ROWS)
        .i32_const(3)
        .i32_shl()
        .call(F_REALLOC)
        .local_tee(L_OUT)
        .local_tee(L_CUR)
        .local_get(L_ROWS)
        .i32_const(3)
        .i32_shl()
        .i32_add()
        .local_set(L_END);
    s.local_get(L_STRIDE)
        .i32_const(3)
        .i32_shl()
        .local_set(L_ROW_BYTES);
    s.local_get(L_VALUES).local_set(L_ROW);
    s.block(BlockType::Empty).loop_(BlockType::Empty);
    s.local_get(L_CUR).local_get(L_END).i32_eq().br_if(1);
    s.local_get(L_CUR);
    emit(&mut s, program.expr());
    s.f64_store(mem(0, 3));
    s.local_get(L_CUR).i32_const(8).i32_add().local_set(L_CUR);
    s.local_get(L_ROW)
        .local_get(L_ROW_BYTES)
        .i32_add()
        .local_set(L_ROW);
    s.br(0).end().end();
    return_ok(&mut s);
    s.end();
    f
}

/// Emits the code computing `expr` for the row at `L_ROW`, leaving an f64.
/// Each construct uses exactly the operations of the native evaluator.
fn emit(s: &mut InstructionSink<'_>, expr: &Expr) {
    match expr {
        Expr::Number(x) => {
            s.f64_const(Ieee64::from(*x));
        }
        Expr::Primitive(index) => {
            s.local_get(L_ROW).f64_load(mem(*index as u64 * 8, 3));
        }
        Expr::Neg(a) => {
            emit(s, a);
            s.f64_neg();
        }
        Expr::Abs(a) => {
            emit(s, a);
            s.f64_abs();
        }
        Expr::Binary(op, a, b) => {
            emit(s, a);
            emit(s, b);
            binary(s, *op);
        }
        Expr::If(condition, then, otherwise) => {
            emit(s, then);
            emit(s, otherwise);
            emit(s, condition);
            s.f64_const(Ieee64::from(0.0)).f64_ne().select();
        }
        Expr::Clamp(x, lo, hi) => {
            emit(s, x);
            emit(s, lo);
            binary(s, BinaryOp::Max);
            emit(s, hi);
            binary(s, BinaryOp::Min);
        }
    }
}

/// Emits `op` on the two f64 operands on the stack. The temporaries are only
/// live within this sequence, so nested expressions can share them.
fn binary(s: &mut InstructionSink<'_>, op: BinaryOp) {
    match op {
        BinaryOp::Add => {
            s.f64_add();
        }
        BinaryOp::Sub => {
            s.f64_sub();
        }
        BinaryOp::Mul => {
            s.f64_mul();
        }
        BinaryOp::Div => {
            // select(a / b, 0, b != 0)
            s.local_tee(L_T0)
                .f64_div()
                .f64_const(Ieee64::from(0.0))
                .local_get(L_T0)
                .f64_const(Ieee64::from(0.0))
                .f64_ne()
                .select();
        }
        BinaryOp::Lt => {
            s.f64_lt().f64_convert_i32_u();
        }
        BinaryOp::Le => {
            s.f64_le().f64_convert_i32_u();
        }
        BinaryOp::Gt => {
            s.f64_gt().f64_convert_i32_u();
        }
        BinaryOp::Ge => {
            s.f64_ge().f64_convert_i32_u();
        }
        BinaryOp::Eq => {
            s.f64_eq().f64_convert_i32_u();
        }
        BinaryOp::Ne => {
            s.f64_ne().f64_convert_i32_u();
        }
        BinaryOp::Min | BinaryOp::Max => {
            // select(b, a, (b < a) | (a != a)), or `b > a` for max.
            s.local_set(L_T1).local_set(L_T0);
            s.local_get(L_T1).local_get(L_T0);
            s.local_get(L_T1).local_get(L_T0);
            if op == BinaryOp::Min {
                s.f64_lt();
            } else {
                s.f64_gt();
            }
            s.local_get(L_T0).local_get(L_T0).f64_ne().i32_or().select();
        }
    }
}

/// `describe() -> return area` of `reward-info`.
fn describe_function(description: (i32, i32), min_stride: i32) -> Function {
    let mut f = Function::new([]);
    let mut s = f.instructions();
    s.i32_const(RETURN_AREA)
        .i32_const(description.0)
        .i32_store(mem(0, 2));
    s.i32_const(RETURN_AREA)
        .i32_const(description.1)
        .i32_store(mem(4, 2));
    s.i32_const(RETURN_AREA)
        .i32_const(min_stride)
        .i32_store(mem(8, 2));
    s.i32_const(RETURN_AREA).end();
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    #[test]
    fn the_core_module_validates() {
        for source in [
            "1",
            "g1 + 0.5*g2*g3 - 0.1*g4",
            "if(g1 < g2, min(g1, g2) / g3, clamp(abs(g4), 0, 1)) == max(-g5, g1 != 0)",
        ] {
            let program = parse(source, &[]).unwrap();
            let module = core_module(&program);
            wasmparser::Validator::new()
                .validate_all(&module)
                .unwrap_or_else(|e| panic!("{source}: {e}"));
        }
    }

    #[test]
    fn the_component_validates_and_imports_only_types() {
        let program = parse("success + 0.5*g2", &["success", "progress"]).unwrap();
        for payload in wasmparser::Parser::new(0).parse_all(&core_module(&program)) {
            let payload = payload.unwrap();
            assert!(
                !matches!(payload, wasmparser::Payload::ImportSection(_)),
                "the core module imports something"
            );
        }
        let bytes = compile(&program).unwrap();
        wasmparser::Validator::new()
            .validate_all(&bytes)
            .expect("valid component");
        let (mut imports, mut exports) = (Vec::new(), Vec::new());
        let mut depth = 0;
        for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
            match payload.unwrap() {
                // Nested modules and components (the wrapped core module).
                wasmparser::Payload::ModuleSection { .. }
                | wasmparser::Payload::ComponentSection { .. } => depth += 1,
                wasmparser::Payload::End(_) => depth -= 1,
                wasmparser::Payload::ComponentImportSection(section) if depth == 0 => {
                    imports.extend(section.into_iter().map(|i| i.unwrap().name.name.to_owned()));
                }
                wasmparser::Payload::ComponentExportSection(section) if depth == 0 => {
                    exports.extend(section.into_iter().map(|e| e.unwrap().name.name.to_owned()));
                }
                _ => {}
            }
        }
        // The shared type definitions of the WIT package, no functions: the
        // same as every reward component built with wit-bindgen.
        assert_eq!(imports, [derl_env_api::contract::TYPES_INTERFACE]);
        assert_eq!(exports, [REWARD_INTERFACE]);
    }

    #[test]
    fn compiling_is_deterministic() {
        let program = parse("g1 + 0.5*g2*g3 - 0.1*g4 + min(g1, g2)", &[]).unwrap();
        let first = compile(&program).unwrap();
        let second = compile(&program.clone()).unwrap();
        assert_eq!(first, second);
        let reparsed = parse(&program.normalized(), &[]).unwrap();
        assert_eq!(compile(&reparsed).unwrap(), first);
        let other = parse("g1 + 0.5*g2*g3 - 0.1*g4 + max(g1, g2)", &[]).unwrap();
        assert_ne!(compile(&other).unwrap(), first);
    }

    #[test]
    fn the_description_is_embedded() {
        let program = parse("success*2", &["success"]).unwrap();
        let bytes = compile(&program).unwrap();
        let text = b"g1 * 2";
        assert!(bytes.windows(text.len()).any(|w| w == text));
    }

    #[test]
    fn the_largest_programs_compile() {
        let deep = format!("{}g1{}", "(".repeat(63), ")".repeat(63));
        let long = vec!["1e-300"; 512].join("+");
        for source in [deep, long] {
            let program = parse(&source, &[]).unwrap();
            let bytes = compile(&program).unwrap();
            wasmparser::Validator::new()
                .validate_all(&bytes)
                .expect("valid component");
        }
    }
}
