;; expect: common-lisp
(define (square x) (* x x))
(defun c:SQ (/ n)
  (setq n (getreal))
  (princ (square n))
  (princ)
)
