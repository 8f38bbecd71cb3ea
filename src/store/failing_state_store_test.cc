// The fault-injecting store used by crash tests of the engine.
#include "store/failing_state_store.h"

#include <gtest/gtest.h>

#include "store/store_test_util.h"

namespace fm::store {
namespace {

using base::ErrorKind;
using testing::MakeWindow;

class FailingStateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto inner = OpenSqliteStateStore({":memory:"});
    ASSERT_TRUE(inner.ok()) << inner.error().ToString();
    inner_ = std::move(inner).value();
  }
  std::unique_ptr<StateStore> inner_;
};

void ExpectInjected(const base::Status& st) {
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().kind, ErrorKind::kStorage);
  EXPECT_EQ(st.error().message, "injected store failure");
}

TEST_F(FailingStateStoreTest, WritesFailOnceTheCommitBudgetIsSpent) {
  auto store = NewFailingStateStore(*inner_, 2);
  ASSERT_TRUE(store->PutMeta("a", "1").ok());
  ASSERT_TRUE(store->AddWindow(MakeWindow(0, 10)).ok());
  ExpectInjected(store->PutMeta("b", "2"));
  auto id = store->AddWindow(MakeWindow(10, 20));
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().message, "injected store failure");
  ExpectInjected(store->AddCounts(1, {"Patient", 1}));
  // Nothing reached the inner store, and reads keep working.
  EXPECT_FALSE(inner_->GetMeta("b")->has_value());
  EXPECT_EQ(store->ListWindows()->size(), 1u);
  EXPECT_EQ(store->GetMeta("a")->value_or(""), "1");
}

TEST_F(FailingStateStoreTest, ATransactionIsOneCommitHoweverManyWritesItHolds) {
  auto store = NewFailingStateStore(*inner_, 1);
  auto st = store->Transaction([&]() -> base::Status {
    FM_ASSIGN_OR_RETURN(int64_t id, store->AddWindow(MakeWindow(0, 10)));
    FM_TRY_STATUS(store->AddFile({0, id, "Patient"}));
    FM_TRY_STATUS(store->Transaction([&] { return store->AddCounts(id, {"Patient", 1}); }));
    return store->PutMeta("k", "v");
  });
  ASSERT_TRUE(st.ok()) << st.error().ToString();
  ExpectInjected(store->Transaction([&] { return store->PutMeta("k", "w"); }));
  EXPECT_EQ(inner_->GetMeta("k")->value_or(""), "v");
  EXPECT_EQ(inner_->TotalCounts()->size(), 1u);
}

TEST_F(FailingStateStoreTest, AFailedTransactionDoesNotSpendTheBudget) {
  auto store = NewFailingStateStore(*inner_, 1);
  auto st = store->Transaction([&]() -> base::Status {
    FM_TRY_STATUS(store->PutMeta("k", "lost"));
    return base::MakeError(ErrorKind::kTransient, "remote failed");
  });
  EXPECT_EQ(st.error().kind, ErrorKind::kTransient);
  EXPECT_TRUE(store->PutMeta("k", "kept").ok());
  ExpectInjected(store->PutMeta("k", "late"));
  EXPECT_EQ(inner_->GetMeta("k")->value_or(""), "kept");
}

TEST_F(FailingStateStoreTest, ZeroFailsAtOnceAndNegativeNever) {
  auto dead = NewFailingStateStore(*inner_, 0);
  ExpectInjected(dead->PutMeta("k", "v"));
  ExpectInjected(dead->Transaction([] { return base::Ok(); }));
  EXPECT_TRUE(dead->GetMigration().ok());

  auto healthy = NewFailingStateStore(*inner_, -1);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(healthy->PutMeta("k", std::to_string(i)).ok());
  EXPECT_EQ(healthy->schema_version(), inner_->schema_version());
}

}  // namespace
}  // namespace fm::store
