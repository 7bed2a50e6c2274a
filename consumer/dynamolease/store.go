// Package dynamolease keeps a consumer's leases in DynamoDB, in the lease
// table of AWS's Kinesis Client Library for Java (KCL 3.x), attribute for
// attribute: an application moving from Java KCL to this library resumes
// from the Java application's checkpoints, and the other way round.
//
// The table's schema, and where each fact about it comes from, is in
// schema.go. Writes change only the attributes of a consumer.Lease: an
// attribute this package does not know (one a later KCL adds, or a
// multi-stream lease's streamName and shardId) is kept as it is. Items of
// the table that are not leases (KCL 3.5 may keep its worker metrics and
// coordinator state there, each with an entityType other than LEASE) are
// not listed, read or written.
package dynamolease

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tributary-io/tributary/consumer"
)

// API is the part of *dynamodb.Client a Store uses.
type API interface {
	CreateTable(context.Context, *dynamodb.CreateTableInput, ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// Options tune a Store; the zero value is the default.
type Options struct {
	// PollInterval is how often Init asks whether the table it waits for
	// is ready. Default one second.
	PollInterval time.Duration
}

// Store is a consumer.LeaseStore on one DynamoDB table.
type Store struct {
	client API
	table  string
	poll   time.Duration
}

var _ consumer.LeaseStore = (*Store)(nil)

// New returns a store of the leases in table. Nothing is asked of DynamoDB
// before Init.
func New(client API, table string, opts Options) *Store {
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	return &Store{client: client, table: table, poll: opts.PollInterval}
}

// Init creates the table if there is none, as KCL 3.x creates it (hash key
// leaseKey, PAY_PER_REQUEST, and the index LeaseOwnerToLeaseKeyIndex),
// and returns once the table is ACTIVE, with the index if it has one. A
// table that exists is not changed: if it was made by KCL 2.x and has no
// index, Java KCL 3.x adds one when it starts, and this package needs none.
// Init fails if the table's key is not leaseKey: it is no lease table.
// Several workers may call Init at once; ctx bounds the wait.
func (s *Store) Init(ctx context.Context) error {
	desc, err := s.describe(ctx)
	if err != nil {
		return err
	}
	if desc == nil {
		if err := s.create(ctx); err != nil {
			return err
		}
	}
	for {
		if desc != nil {
			if err := checkKey(desc); err != nil {
				return fmt.Errorf("dynamolease: table %s: %w", s.table, err)
			}
			if ready(desc) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dynamolease: waiting for table %s to be ACTIVE: %w", s.table, ctx.Err())
		case <-time.After(s.poll):
		}
		if desc, err = s.describe(ctx); err != nil {
			return err
		}
	}
}

// describe returns the table's description, or nil if there is no table.
func (s *Store) describe(ctx context.Context) (*types.TableDescription, error) {
	out, err := s.client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.table)})
	if _, ok := errors.AsType[*types.ResourceNotFoundException](err); ok {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dynamolease: describe table %s: %w", s.table, err)
	}
	return out.Table, nil
}

func (s *Store) create(ctx context.Context) error {
	str := func(name string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: types.ScalarAttributeTypeS}
	}
	key := func(name string, t types.KeyType) types.KeySchemaElement {
		return types.KeySchemaElement{AttributeName: aws.String(name), KeyType: t}
	}
	_, err := s.client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(s.table),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{str(attrKey), str(attrOwner)},
		KeySchema:            []types.KeySchemaElement{key(attrKey, types.KeyTypeHash)},
		// KCL makes the table, then adds the index with UpdateTable; one
		// request here gives the same table.
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName:  aws.String(indexName),
			KeySchema:  []types.KeySchemaElement{key(attrOwner, types.KeyTypeHash), key(attrKey, types.KeyTypeRange)},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
		}},
	})
	if _, ok := errors.AsType[*types.ResourceInUseException](err); ok {
		return nil // another worker created it first
	}
	if err != nil {
		return fmt.Errorf("dynamolease: create table %s: %w", s.table, err)
	}
	return nil
}

// checkKey makes sure the table is keyed by leaseKey alone.
func checkKey(t *types.TableDescription) error {
	if len(t.KeySchema) != 1 || aws.ToString(t.KeySchema[0].AttributeName) != attrKey || t.KeySchema[0].KeyType != types.KeyTypeHash {
		var ks []string
		for _, k := range t.KeySchema {
			ks = append(ks, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
		}
		return fmt.Errorf("key is %s, want %s HASH: not a KCL lease table", strings.Join(ks, ", "), attrKey)
	}
	return nil
}

// ready tells whether the table is ACTIVE and so is its index, if it has one.
func ready(t *types.TableDescription) bool {
	if t.TableStatus != types.TableStatusActive {
		return false
	}
	for _, ix := range t.GlobalSecondaryIndexes {
		if aws.ToString(ix.IndexName) == indexName && ix.IndexStatus != types.IndexStatusActive {
			return false
		}
	}
	return true
}

// Create puts l as it is, with entityType LEASE as KCL 3.5 writes it,
// unless an item has its key.
func (s *Store) Create(ctx context.Context, l consumer.Lease) error {
	item, err := encode(l)
	if err != nil {
		return s.fail("create", l.Key, err)
	}
	item[attrKey] = str(l.Key)
	item[attrEntityType] = str(entityLease)
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(#key)"),
		ExpressionAttributeNames: map[string]string{"#key": attrKey},
	})
	if _, ok := errors.AsType[*types.ConditionalCheckFailedException](err); ok {
		return s.fail("create", l.Key, consumer.ErrLeaseExists)
	}
	if err != nil {
		return s.fail("create", l.Key, err)
	}
	return nil
}

// Get reads the lease of key with a strongly consistent read.
func (s *Store) Get(ctx context.Context, key string) (consumer.Lease, error) {
	item, err := s.getItem(ctx, key)
	if err != nil {
		return consumer.Lease{}, s.fail("get", key, err)
	}
	if item == nil || !isLease(item) {
		return consumer.Lease{}, s.fail("get", key, consumer.ErrLeaseNotFound)
	}
	l, err := decode(item)
	if err != nil {
		return consumer.Lease{}, s.fail("get", key, err)
	}
	return l, nil
}

func (s *Store) getItem(ctx context.Context, key string) (map[string]types.AttributeValue, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            map[string]types.AttributeValue{attrKey: str(key)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return out.Item, nil
}

// List scans the whole table, page after page, with strongly consistent
// reads, and returns its leases.
func (s *Store) List(ctx context.Context) ([]consumer.Lease, error) {
	var (
		leases []consumer.Lease
		start  map[string]types.AttributeValue
	)
	for {
		out, err := s.client.Scan(ctx, &dynamodb.ScanInput{
			TableName:         aws.String(s.table),
			ConsistentRead:    aws.Bool(true),
			ExclusiveStartKey: start,
		})
		if err != nil {
			return nil, fmt.Errorf("dynamolease: scan table %s: %w", s.table, err)
		}
		for _, item := range out.Items {
			if !isLease(item) {
				continue
			}
			l, err := decode(item)
			if err != nil {
				return nil, s.fail("list: read", keyOf(item), err)
			}
			leases = append(leases, l)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return leases, nil
		}
		start = out.LastEvaluatedKey
	}
}

// Update writes l's fields with one UpdateItem, conditional on the stored
// counter being l.Counter: it SETs the attributes that have a value and
// REMOVEs those that have none, so that the attributes this package does
// not know are kept.
func (s *Store) Update(ctx context.Context, l consumer.Lease) (consumer.Lease, error) {
	item, err := encode(l)
	if err != nil {
		return consumer.Lease{}, s.fail("update", l.Key, err)
	}
	item[attrCounter] = num(l.Counter + 1)
	c := s.conditional(l)
	var set, remove []string
	for _, name := range known {
		if v, ok := item[name]; ok {
			set = append(set, c.name(name)+" = "+c.value(v))
		} else {
			remove = append(remove, c.name(name))
		}
	}
	expr := "SET " + strings.Join(set, ", ")
	if len(remove) > 0 {
		expr += " REMOVE " + strings.Join(remove, ", ")
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 map[string]types.AttributeValue{attrKey: str(l.Key)},
		UpdateExpression:                    aws.String(expr),
		ConditionExpression:                 aws.String(c.condition),
		ExpressionAttributeNames:            c.names,
		ExpressionAttributeValues:           c.values,
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		return consumer.Lease{}, s.fail("update", l.Key, s.why(ctx, l.Key, err))
	}
	stored, err := decode(out.Attributes)
	if err != nil {
		return consumer.Lease{}, s.fail("update: read the result", l.Key, err)
	}
	return stored, nil
}

// Delete removes the lease if its counter is still l.Counter.
func (s *Store) Delete(ctx context.Context, l consumer.Lease) error {
	c := s.conditional(l)
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 map[string]types.AttributeValue{attrKey: str(l.Key)},
		ConditionExpression:                 aws.String(c.condition),
		ExpressionAttributeNames:            c.names,
		ExpressionAttributeValues:           c.values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		return s.fail("delete", l.Key, s.why(ctx, l.Key, err))
	}
	return nil
}

// expression gathers the names and values of an UpdateItem's or a
// DeleteItem's expressions.
type expression struct {
	condition string
	names     map[string]string
	values    map[string]types.AttributeValue
}

// conditional starts the expressions of a write of l: the item must be a
// lease (KCL 3.5's entityType LEASE, or none) whose counter is l.Counter.
func (s *Store) conditional(l consumer.Lease) *expression {
	e := &expression{names: map[string]string{}, values: map[string]types.AttributeValue{}}
	e.condition = fmt.Sprintf("attribute_exists(%s) AND %s = %s AND (attribute_not_exists(%s) OR %s = %s)",
		e.name(attrKey), e.name(attrCounter), e.value(num(l.Counter)),
		e.name(attrEntityType), e.name(attrEntityType), e.value(str(entityLease)))
	return e
}

// name returns the placeholder of an attribute's name.
func (e *expression) name(n string) string {
	for p, m := range e.names {
		if m == n {
			return p
		}
	}
	p := "#n" + strconv.Itoa(len(e.names))
	e.names[p] = n
	return p
}

// value returns the placeholder of a new value.
func (e *expression) value(v types.AttributeValue) string {
	p := ":v" + strconv.Itoa(len(e.values))
	e.values[p] = v
	return p
}

// why turns a refused conditional write of key into ErrLeaseNotFound (no
// lease has the key) or ErrLeaseChanged (its counter moved). DynamoDB
// returns the item with the refusal (ReturnValuesOnConditionCheckFailure);
// when it does not, because there is no item or because the server does
// not support that (dynalite), a consistent read tells.
func (s *Store) why(ctx context.Context, key string, err error) error {
	failed, ok := errors.AsType[*types.ConditionalCheckFailedException](err)
	if !ok {
		return err
	}
	item := failed.Item
	if len(item) == 0 {
		if item, err = s.getItem(ctx, key); err != nil {
			return fmt.Errorf("the write was refused, and reading the lease to tell why failed: %w", err)
		}
	}
	if item == nil || !isLease(item) {
		return consumer.ErrLeaseNotFound
	}
	return consumer.ErrLeaseChanged
}

func (s *Store) fail(op, key string, err error) error {
	return fmt.Errorf("dynamolease: %s lease %q in table %s: %w", op, key, s.table, err)
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// keyOf returns an item's leaseKey for an error message.
func keyOf(item map[string]types.AttributeValue) string {
	if v, ok := item[attrKey].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return "?"
}
