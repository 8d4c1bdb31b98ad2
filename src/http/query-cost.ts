import {
  getNamedType,
  isCompositeType,
  isInterfaceType,
  isObjectType,
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';

/** Arguments that ask a list field for that many items. */
const SIZE_ARGUMENTS = new Set(['tail', 'limit', 'first', 'last']);

/**
 * The objects an operation may return: a field of object type costs one per object, and a field
 * with a size argument (its value or its default) returns that many, each with its selection.
 * `logs(tail: 10000) { message }` costs 10,000 and twenty aliases of it 200,000; scalar fields
 * are free (MAX_QUERY_TOKENS bounds how many a document names). Introspection counts like any
 * other selection. Variables are read, which is why this runs when the operation executes, not
 * among the (cached, variable-free) validation rules.
 */
export function operationCost(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown> = {}): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const fragmentCosts = new Map<string, number>();

  const variableDefaults = new Map(operation.variableDefinitions?.map((v) => [v.variable.name.value, v.defaultValue]));
  const intOf = (value: ValueNode | undefined): unknown => {
    if (value?.kind === Kind.INT) return Number(value.value);
    if (value?.kind !== Kind.VARIABLE) return undefined;
    const name = value.name.value;
    return name in variables ? variables[name] : intOf(variableDefaults.get(name));
  };
  /** The items a field asks for: the largest of its size arguments, or their defaults; at least 1. */
  const sizeOf = (node: FieldNode, field: GraphQLField<unknown, unknown> | undefined): number => {
    let size = 1;
    for (const name of SIZE_ARGUMENTS) {
      const given = node.arguments?.find((argument) => argument.name.value === name)?.value;
      const value = given ? intOf(given) : field?.args.find((argument) => argument.name === name)?.defaultValue;
      if (typeof value === 'number' && value > size) size = value;
    }
    return size;
  };

  const fieldOf = (parent: GraphQLNamedType | undefined, name: string): GraphQLField<unknown, unknown> | undefined => {
    if (parent === schema.getQueryType() && name === SchemaMetaFieldDef.name) return SchemaMetaFieldDef;
    if (parent === schema.getQueryType() && name === TypeMetaFieldDef.name) return TypeMetaFieldDef;
    return isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
  };

  const selectionCost = (selectionSet: SelectionSetNode | undefined, parent: GraphQLNamedType | undefined): number => {
    let cost = 0;
    for (const selection of selectionSet?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        const field = fieldOf(parent, selection.name.value);
        const type = field && getNamedType(field.type);
        if (!isCompositeType(type)) continue;
        cost += sizeOf(selection, field) * (1 + selectionCost(selection.selectionSet, type));
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        cost += selectionCost(selection.selectionSet, type);
      } else {
        cost += fragmentCost(selection.name.value);
      }
    }
    return cost;
  };

  const fragmentCost = (name: string): number => {
    const known = fragmentCosts.get(name);
    if (known !== undefined) return known;
    // Validation refuses fragment cycles; should one get here, it costs nothing the second time.
    fragmentCosts.set(name, 0);
    const fragment = fragments.get(name);
    const cost = fragment ? selectionCost(fragment.selectionSet, schema.getType(fragment.typeCondition.name.value)) : 0;
    fragmentCosts.set(name, cost);
    return cost;
  };

  const root = { query: schema.getQueryType(), mutation: schema.getMutationType(), subscription: schema.getSubscriptionType() }[operation.operation];
  return selectionCost(operation.selectionSet, root ?? undefined);
}
