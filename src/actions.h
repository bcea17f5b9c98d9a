/*
 * actions.h
 *	  Action labels and the kinds they map to under the default mapping.
 *
 * Behaviour rows carry a free-form action label ("pv", "Add to cart",
 * "收藏" ...).  Training, scoring and the feature aggregates all reduce it to
 * one of a few kinds, each with a default weight; training options may
 * replace the whole mapping, but these defaults are shared by every part of
 * the extension so that they agree with each other.
 */
#ifndef CS_ACTIONS_H
#define CS_ACTIONS_H

#include "model_format.h"

typedef enum CsActionKind
{
	CS_KIND_VIEW = 0,
	CS_KIND_FAV,
	CS_KIND_CART,
	CS_KIND_BUY,
	CS_N_DEFAULT_KINDS
} CsActionKind;

/* "view", "fav", "cart", "buy" */
extern const char *const cs_default_kind_names[CS_N_DEFAULT_KINDS];

/* 1, 2, 3, 4; unknown labels weigh 1 as well */
extern const float cs_default_kind_weights[CS_N_DEFAULT_KINDS];

/*
 * Kind of a label under the default mapping, or -1 if unknown.
 *
 * label is len bytes in the database encoding (len < 0: up to its NUL), any
 * length.  Surrounding whitespace is ignored, ASCII letters match in any
 * case, and '_', '-' and spaces inside the label are ignored, so "PV",
 * " Buy", "add_to_cart" and "Add-To-Cart" all match.  Integer action codes
 * are looked up as their decimal text and are unknown by default.
 */
extern int	cs_default_action_kind(const char *label, int len);

/*
 * Weight of an action label under a model: the kind the model maps the label
 * to, else the model's weight of the label's default kind, else 1.  A NULL
 * label (no action given) weighs 1.  Serving and interest_vector() both use
 * it, so that they weigh a behaviour alike.
 */
extern float cs_label_weight(const CsModel *m, const char *label);

#endif							/* CS_ACTIONS_H */
