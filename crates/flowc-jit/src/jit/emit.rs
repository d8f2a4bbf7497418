//! The translator's building blocks: runtime calls, cells in memory, null
//! flags, truth, joins and exits. `translate.rs` tells the story with
//! these; nothing here knows about IR nodes.

use super::Decline;
use super::abi::{self, CELL_BITS, CELL_NULL, CELL_SIZE, OK, clif_type, same_kind};
use super::plan::{CallOp, CallPlan};
use super::runtime;
use super::translate::{JValue, Null, Translator};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{F64, I8, I32, I64};
use cranelift_codegen::ir::{
    AbiParam, Block, ExtFuncData, ExternalName, FuncRef, InstBuilder, MemFlagsData, Signature,
    StackSlot, StackSlotData, StackSlotKind, UserExternalName, Value,
};
use flowc_check::ir::Type;

impl Translator<'_, '_> {
    // ------------------------------------------------------------ runtime

    /// A call through `flowc_jit_call`: the arguments are stored in cells,
    /// the result comes back in the return slot as a value of type `result`.
    pub fn call(&mut self, op: CallOp, args: &[JValue], result: Type) -> Result<JValue, Decline> {
        let index = i64::try_from(self.plan.calls.len()).map_err(|_| Decline::TooLarge)?;
        self.plan.calls.push(CallPlan {
            op,
            args: args.iter().map(|a| a.ty).collect(),
            result,
        });
        let cells = self.cells(args.len().max(1))?;
        for (i, a) in args.iter().enumerate() {
            self.store_cell(cells, i, *a);
        }
        let index = self.b.ins().iconst(I32, index);
        let cells = self.b.ins().stack_addr(I64, cells, 0);
        let status = self.call_runtime(runtime::CALL, &[self.ctx, index, cells]);
        self.exit_unless_ok(status);
        Ok(self.load_ret(result))
    }

    /// Calls runtime function `which`; its single result.
    pub fn call_runtime(&mut self, which: usize, args: &[Value]) -> Value {
        let f = self.import(which);
        let inst = self.b.ins().call(f, args);
        self.b.inst_results(inst)[0]
    }

    pub(super) fn import(&mut self, which: usize) -> FuncRef {
        if let Some(f) = self.imports.get(which).copied().flatten() {
            return f;
        }
        let functions = runtime::functions();
        let rt = &functions[which.min(functions.len() - 1)];
        let mut sig = Signature::new(self.call_conv);
        sig.params
            .extend(rt.params.iter().map(|t| AbiParam::new(*t)));
        sig.returns.push(AbiParam::new(rt.ret));
        let signature = self.b.import_signature(sig);
        let name = self
            .b
            .func
            .declare_imported_user_function(UserExternalName::new(0, which as u32));
        let f = self.b.import_function(ExtFuncData {
            name: ExternalName::user(name),
            signature,
            colocated: false,
            patchable: false,
        });
        if let Some(slot) = self.imports.get_mut(which) {
            *slot = Some(f);
        }
        f
    }

    /// The return slot, read as a value of type `ty`.
    pub(super) fn load_ret(&mut self, ty: Type) -> JValue {
        let flags = MemFlagsData::trusted();
        let null = self.load_null(self.ctx, abi::RET_NULL);
        let bits = self
            .b
            .ins()
            .load(clif_type(ty), flags, self.ctx, abi::RET_BITS);
        JValue {
            ty,
            null: Null::Maybe(null),
            bits,
        }
    }

    /// Stores the function's result in the return slot and returns `OK`.
    pub(super) fn store_result(&mut self, v: JValue) {
        self.plan.results.push(v.ty);
        let flags = MemFlagsData::trusted();
        self.store_null(v.null, self.ctx, abi::RET_NULL);
        let bits = match v.null {
            Null::Always => self.b.ins().iconst(I64, 0),
            _ => v.bits,
        };
        self.b.ins().store(flags, bits, self.ctx, abi::RET_BITS);
        let ok = self.b.ins().iconst(I32, i64::from(OK));
        self.b.ins().return_(&[ok]);
    }

    // ------------------------------------------------------------ cells

    /// A stack slot of `n` cells.
    pub(super) fn cells(&mut self, n: usize) -> Result<StackSlot, Decline> {
        let size = u32::try_from(n)
            .ok()
            .and_then(|n| n.checked_mul(CELL_SIZE as u32))
            .ok_or(Decline::TooLarge)?;
        Ok(self
            .b
            .create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, size, 3)))
    }

    pub(super) fn store_cell(&mut self, slot: StackSlot, i: usize, v: JValue) {
        let at = i as i32 * CELL_SIZE;
        let bits = match v.null {
            Null::Always => self.b.ins().iconst(I64, 0),
            _ => v.bits,
        };
        let addr = self.b.ins().stack_addr(I64, slot, 0);
        let flags = MemFlagsData::trusted();
        self.store_null(v.null, addr, at + CELL_NULL);
        self.b.ins().store(flags, bits, addr, at + CELL_BITS);
    }

    /// Copies cell `from` of this function's frame into cell `to` of `slot`.
    pub(super) fn copy_cell(&mut self, from: u32, slot: StackSlot, to: usize) {
        self.plan.reads_frame = true;
        let flags = MemFlagsData::trusted();
        let at = from as i32 * CELL_SIZE;
        let null = self.b.ins().load(I64, flags, self.frame, at + CELL_NULL);
        let bits = self.b.ins().load(I64, flags, self.frame, at + CELL_BITS);
        let to = to as i32 * CELL_SIZE;
        let addr = self.b.ins().stack_addr(I64, slot, 0);
        self.b.ins().store(flags, null, addr, to + CELL_NULL);
        self.b.ins().store(flags, bits, addr, to + CELL_BITS);
    }

    /// Cell `index` of `frame`, read as a value of type `ty`.
    pub(super) fn load_cell(&mut self, frame: Value, index: u32, ty: Type) -> JValue {
        self.plan.reads_frame = true;
        let flags = MemFlagsData::trusted();
        let at = index as i32 * CELL_SIZE;
        let null = self.load_null(frame, at + CELL_NULL);
        let bits = self
            .b
            .ins()
            .load(clif_type(ty), flags, frame, at + CELL_BITS);
        JValue {
            ty,
            null: Null::Maybe(null),
            bits,
        }
    }

    /// A null flag word at `base + offset`, as an `i8`.
    pub(super) fn load_null(&mut self, base: Value, offset: i32) -> Value {
        let word = self
            .b
            .ins()
            .load(I64, MemFlagsData::trusted(), base, offset);
        self.b.ins().ireduce(I8, word)
    }

    /// Stores `null` as a flag word at `base + offset`.
    pub(super) fn store_null(&mut self, null: Null, base: Value, offset: i32) {
        let word = match null {
            Null::Never => self.b.ins().iconst(I64, 0),
            Null::Always => self.b.ins().iconst(I64, 1),
            Null::Maybe(n) => self.b.ins().uextend(I64, n),
        };
        self.b
            .ins()
            .store(MemFlagsData::trusted(), word, base, offset);
    }

    // ------------------------------------------------------------ values

    /// A null value of type `ty`.
    pub fn null_of(&mut self, ty: Type) -> JValue {
        JValue {
            ty,
            null: Null::Always,
            bits: self.zero(ty),
        }
    }

    /// Zero bits of `ty`'s machine type.
    pub fn zero(&mut self, ty: Type) -> Value {
        if clif_type(ty) == F64 {
            self.b.ins().f64const(0.0)
        } else {
            self.b.ins().iconst(I64, 0)
        }
    }

    /// 1 when `null` holds, as an `i8`.
    pub fn null_flag(&mut self, null: Null) -> Value {
        match null {
            Null::Never => self.b.ins().iconst(I8, 0),
            Null::Always => self.b.ins().iconst(I8, 1),
            Null::Maybe(n) => n,
        }
    }

    /// Null when either is.
    pub fn either(&mut self, a: Null, b: Null) -> Null {
        match (a, b) {
            (Null::Always, _) | (_, Null::Always) => Null::Always,
            (Null::Never, x) | (x, Null::Never) => x,
            (Null::Maybe(x), Null::Maybe(y)) => Null::Maybe(self.b.ins().bor(x, y)),
        }
    }

    /// `flag` (an `i8` 0/1) where the value is not null, else 0.
    pub fn unless_null(&mut self, null: Null, flag: Value) -> Value {
        match null {
            Null::Never => flag,
            Null::Always => self.b.ins().iconst(I8, 0),
            Null::Maybe(n) => self.b.ins().band_not(flag, n),
        }
    }

    /// A non-null bool from an `i8` flag.
    pub fn bool_value(&mut self, flag: Value) -> JValue {
        let bits = self.b.ins().uextend(I64, flag);
        self.flags.insert(bits, flag);
        JValue {
            ty: Type::Bool,
            null: Null::Never,
            bits,
        }
    }

    /// A condition's truth (`Value::truthy`): 1 only for a non-null true.
    pub fn truthy(&mut self, v: JValue) -> Result<Value, Decline> {
        if matches!(v.null, Null::Always) {
            return Ok(self.b.ins().iconst(I8, 0));
        }
        match v.ty {
            Type::Bool => {
                let set = match self.flags.get(&v.bits) {
                    Some(flag) => *flag,
                    None => self.b.ins().icmp_imm_s(IntCC::NotEqual, v.bits, 0),
                };
                Ok(self.unless_null(v.null, set))
            }
            Type::Any => Err(Decline::Untyped("a condition")),
            _ => Ok(self.b.ins().iconst(I8, 0)),
        }
    }

    // ------------------------------------------------------------ control

    /// The block that returns its parameter as the status.
    pub(super) fn exit_block(&mut self) -> Block {
        if let Some(exit) = self.exit {
            return exit;
        }
        let exit = self.b.create_block();
        self.b.append_block_param(exit, I32);
        self.exit = Some(exit);
        exit
    }

    /// Leaves the function with `status` when `cond` (an `i8`) is 1.
    pub fn exit_if(&mut self, cond: Value, status: u32) {
        let exit = self.exit_block();
        let next = self.b.create_block();
        let status = self.b.ins().iconst(I32, i64::from(status));
        self.b.ins().brif(cond, exit, &[status.into()], next, &[]);
        self.b.switch_to_block(next);
    }

    /// Leaves the function with `status` (an `i32`) unless it is `OK`.
    pub fn exit_unless_ok(&mut self, status: Value) {
        let exit = self.exit_block();
        let next = self.b.create_block();
        self.b.ins().brif(status, exit, &[status.into()], next, &[]);
        self.b.switch_to_block(next);
    }

    /// A block joining branches that give values like `first` (or, when
    /// `first` is always null, values of type `ty`): null flag and bits.
    pub fn join_block(&mut self, first: JValue, ty: Type) -> Block {
        let machine = match first.null {
            Null::Always => clif_type(ty),
            _ => clif_type(first.ty),
        };
        let join = self.b.create_block();
        self.b.append_block_param(join, I8);
        self.b.append_block_param(join, machine);
        join
    }

    /// Jumps to `join` with `v`; declines if `v` does not fit its bits.
    pub fn jump_to_join(&mut self, join: Block, v: JValue, ty: Type) -> Result<(), Decline> {
        let machine = self.b.func.dfg.block_params(join)[1];
        let machine = self.b.func.dfg.value_type(machine);
        let null = self.null_flag(v.null);
        let bits = match v.null {
            Null::Always if machine == F64 => self.b.ins().f64const(0.0),
            Null::Always => self.b.ins().iconst(I64, 0),
            _ if clif_type(v.ty) == machine => v.bits,
            _ => return Err(Decline::Mixed(v.ty, ty)),
        };
        self.b.ins().jump(join, &[null.into(), bits.into()]);
        Ok(())
    }

    /// The value at `join`, where branches gave `a` and `b`.
    pub fn joined(&mut self, join: Block, a: JValue, b: JValue) -> Result<JValue, Decline> {
        let ty = match (a.null, b.null) {
            (Null::Always, _) => b.ty,
            (_, Null::Always) => a.ty,
            _ if same_kind(a.ty, b.ty) => a.ty,
            _ => return Err(Decline::Mixed(a.ty, b.ty)),
        };
        let params = self.b.block_params(join);
        let (null, bits) = (params[0], params[1]);
        let null = match (a.null, b.null) {
            (Null::Never, Null::Never) => Null::Never,
            (Null::Always, Null::Always) => Null::Always,
            _ => Null::Maybe(null),
        };
        Ok(JValue { ty, null, bits })
    }
}
