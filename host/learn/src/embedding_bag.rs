//! Weighted bags of embedding rows as one candle operation with its own backward pass.
//!
//! A bag is `sum_i weight_i * table[id_i]` over the ids of one text. Written with candle's
//! generic operations (`index_select`, `broadcast_mul`, `index_add`) every id becomes a
//! materialized `(ids, dim)` row in the forward pass and twice more in the backward pass,
//! which for a batch of long observations costs more than the rest of the model. This
//! operation reads the table rows in place and writes only the `(texts, dim)` result, and
//! its gradient adds each text's gradient straight into the table's rows.
//!
//! The sums run in id order with the same f32 products as the generic version, so results
//! are bit for bit identical to it.

use std::sync::Arc;

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};

/// The bags of a batch of texts: for every id, its bucket, its text and its weight.
#[derive(Clone, Debug)]
pub struct EmbeddingBag {
    ids: Arc<Vec<u32>>,
    text_of_id: Arc<Vec<u32>>,
    id_weight: Arc<Vec<f32>>,
    texts: usize,
}

impl EmbeddingBag {
    /// Bags of `texts` texts; `ids`, `text_of_id` and `id_weight` have one entry per id.
    ///
    /// # Panics
    /// When the three id vectors differ in length or a text index is not below `texts`
    /// (both are built together by the caller).
    pub fn new(ids: Vec<u32>, text_of_id: Vec<u32>, id_weight: Vec<f32>, texts: usize) -> Self {
        assert!(ids.len() == text_of_id.len() && ids.len() == id_weight.len());
        assert!(text_of_id.iter().all(|&text| (text as usize) < texts));
        Self {
            ids: Arc::new(ids),
            text_of_id: Arc::new(text_of_id),
            id_weight: Arc::new(id_weight),
            texts,
        }
    }

    /// Bucket id of every feature.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// The text each feature belongs to.
    pub fn text_of_id(&self) -> &[u32] {
        &self.text_of_id
    }

    /// Each feature's weight in its text's bag.
    pub fn id_weight(&self) -> &[f32] {
        &self.id_weight
    }

    /// The `(texts, dim)` bags of the rows of `table` (`(buckets, dim)` f32).
    ///
    /// # Errors
    /// A candle error when `table` is not a 2-d f32 CPU tensor or an id is past its rows.
    pub fn apply(&self, table: &Tensor) -> candle_core::Result<Tensor> {
        table.apply_op1(self.clone())
    }

    /// Every feature as (table row, text, weight), in id order (the order of the sums).
    fn entries(&self) -> impl Iterator<Item = (usize, usize, f32)> + '_ {
        self.ids
            .iter()
            .zip(self.text_of_id.iter())
            .zip(self.id_weight.iter())
            .map(|((&id, &text), &weight)| (id as usize, text as usize, weight))
    }

    fn check_ids(&self, buckets: usize) -> candle_core::Result<()> {
        match self.ids.iter().find(|&&id| id as usize >= buckets) {
            Some(id) => candle_core::bail!("embedding bag: id {id} past the {buckets}-row table"),
            None => Ok(()),
        }
    }
}

/// `values` of a contiguous 2-d f32 tensor, with its `(rows, columns)`.
fn matrix<'a>(
    storage: &'a CpuStorage,
    layout: &Layout,
    what: &str,
) -> candle_core::Result<(&'a [f32], usize, usize)> {
    let (CpuStorage::F32(values), Some((start, end)), &[rows, columns]) =
        (storage, layout.contiguous_offsets(), layout.dims())
    else {
        candle_core::bail!("embedding bag: {what} must be a contiguous 2-d f32 tensor")
    };
    Ok((&values[start..end], rows, columns))
}

impl CustomOp1 for EmbeddingBag {
    fn name(&self) -> &'static str {
        "embedding-bag"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (table, buckets, dim) = matrix(storage, layout, "the table")?;
        self.check_ids(buckets)?;
        let mut bags = vec![0f32; self.texts * dim];
        for (id, text, weight) in self.entries() {
            let row = &table[id * dim..][..dim];
            let bag = &mut bags[text * dim..][..dim];
            for (sum, &value) in bag.iter_mut().zip(row) {
                *sum += value * weight;
            }
        }
        Ok((CpuStorage::F32(bags), Shape::from((self.texts, dim))))
    }

    fn bwd(
        &self,
        table: &Tensor,
        _bags: &Tensor,
        grad_bags: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let (buckets, dim) = table.dims2()?;
        self.check_ids(buckets)?;
        let grad_bags = grad_bags.contiguous()?;
        let (storage, layout) = grad_bags.storage_and_layout();
        let candle_core::Storage::Cpu(storage) = &*storage else {
            candle_core::bail!("embedding bag: CPU tensors only")
        };
        let (grad_bags, texts, grad_dim) = matrix(storage, layout, "the gradient")?;
        if (texts, grad_dim) != (self.texts, dim) {
            candle_core::bail!("embedding bag: gradient of shape ({texts}, {grad_dim})")
        }
        let mut grad_table = vec![0f32; buckets * dim];
        for (id, text, weight) in self.entries() {
            let grad_bag = &grad_bags[text * dim..][..dim];
            let grad_row = &mut grad_table[id * dim..][..dim];
            for (sum, &grad) in grad_row.iter_mut().zip(grad_bag) {
                *sum += grad * weight;
            }
        }
        Ok(Some(Tensor::from_vec(
            grad_table,
            (buckets, dim),
            table.device(),
        )?))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;

    /// The same bags written with candle's generic operations.
    fn generic(bag: &EmbeddingBag, table: &Tensor) -> Tensor {
        let device = table.device();
        let ids = Tensor::new(bag.ids(), device).unwrap();
        let texts = Tensor::new(bag.text_of_id(), device).unwrap();
        let weights = Tensor::new(bag.id_weight(), device)
            .unwrap()
            .unsqueeze(1)
            .unwrap();
        let features = table
            .index_select(&ids, 0)
            .unwrap()
            .broadcast_mul(&weights)
            .unwrap();
        Tensor::zeros((bag.texts, table.dim(1).unwrap()), table.dtype(), device)
            .unwrap()
            .index_add(&texts, &features, 0)
            .unwrap()
    }

    fn example() -> (EmbeddingBag, Var) {
        let values: Vec<f32> = (0..40)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) / 7.0)
            .collect();
        let table = Var::from_vec(values, (10, 4), &Device::Cpu).unwrap();
        let bag = EmbeddingBag::new(
            vec![3, 1, 3, 9, 0, 1],
            vec![0, 0, 0, 2, 2, 1],
            vec![1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0, 0.5, 0.5, 1.0],
            4,
        );
        (bag, table)
    }

    #[test]
    fn bags_and_gradients_equal_the_generic_operations_bit_for_bit() {
        let (bag, table) = example();
        let fused = bag.apply(table.as_tensor()).unwrap();
        let reference = generic(&bag, table.as_tensor());
        assert_eq!(
            fused.to_vec2::<f32>().unwrap(),
            reference.to_vec2::<f32>().unwrap()
        );
        assert_eq!(fused.to_vec2::<f32>().unwrap()[3], [0.0; 4], "empty text");

        let upstream = Tensor::new(
            &[
                [1f32, -2.0, 0.5, 3.0],
                [0.25, 0.0, 1.0, -1.0],
                [2.0, 2.0, -3.0, 0.125],
                [9.0; 4],
            ],
            &Device::Cpu,
        )
        .unwrap();
        let grad = |bags: Tensor| {
            let loss = (bags * &upstream).unwrap().sum_all().unwrap();
            let store = loss.backward().unwrap();
            store
                .get(table.as_tensor())
                .unwrap()
                .to_vec2::<f32>()
                .unwrap()
        };
        assert_eq!(grad(fused), grad(reference));
    }

    #[test]
    fn ids_past_the_table_are_an_error() {
        let table = Tensor::zeros((4, 2), candle_core::DType::F32, &Device::Cpu).unwrap();
        let bag = EmbeddingBag::new(vec![4], vec![0], vec![1.0], 1);
        let error = bag.apply(&table).unwrap_err().to_string();
        assert!(error.contains("id 4 past the 4-row table"), "{error}");
    }
}
