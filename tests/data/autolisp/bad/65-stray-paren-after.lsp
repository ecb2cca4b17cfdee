;; expect: stray-paren
(defun c:ONE () (princ))
)
(defun c:TWO () (princ))
